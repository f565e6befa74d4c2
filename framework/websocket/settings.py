"""The ``ws.*`` config keys, read once at boot.

=========================  =========  ====================================================
key                        default    meaning
=========================  =========  ====================================================
``ws.max_message_size``    1048576    bytes; a larger message closes the connection (1009)
``ws.max_connections``     10000      per worker; more are accepted and closed with 1013
                                      (0: no limit)
``ws.allowed_origins``     ``[]``     ``fnmatch`` patterns for the ``Origin`` header; a
                                      browser from elsewhere gets 403 (empty: any origin)
``ws.ping_interval``       25.0       seconds of silence before the server pings (0: off)
``ws.ping_max_missed``     2          unanswered pings before closing (1011)
``ws.idle_timeout``        0          seconds of silence before closing (1011; 0: off)
``ws.rate_limit``          0          messages per second per connection; more closes the
                                      connection with 1008 (0: no limit)
``ws.rate_burst``          =rate      messages a connection may send at once
``ws.send_queue_size``     256        frames queued for a client that reads slowly;
                                      beyond, new frames are dropped for it
``ws.slow_client_drops``   100        drops in a row before a slow client is closed with
                                      1013 (0: never)
``ws.close_timeout``       5.0        seconds a client gets to answer a close
``ws.node``                host name  this host's name in client ids
``ws.worker``              env        this worker's number in client ids (default
                                      ``SWOOP_WORKER_ID``, else 0)
``ws.client_js``           true       serve ``/_swoop/client.js`` on ``ws_asgi_app``
``ws.bus``                 "local"    how workers reach each other (docs/scale-out.md):
                                      ``"local"`` (this worker alone, or the hub when
                                      ``ws.hub`` is set), ``"hub"``, ``"redis://..."``
``ws.hub``                 none       the hub's Unix socket (set by the process manager,
                                      ``SWOOP_WS__HUB``)
``ws.bus_namespace``       "swoop"    Redis key and channel prefix (one per application)
``ws.bus_timeout``         5.0        seconds to wait for the hub/Redis to answer
``ws.bus_queue_size``      10000      packets queued for the hub/Redis before drops
``ws.bus_heartbeat``       1.0        seconds between a worker's Redis heartbeats
``ws.bus_ttl``             10.0       seconds after its last heartbeat a worker (and its
                                      connections) counts as gone
``ws.bus_backoff_max``     5.0        longest wait between two reconnection attempts
``ws.split``               false      ``appctl ws:start`` runs gateway processes that hold
                                      the WebSockets and business workers that run the
                                      app: a reload keeps every WebSocket open
                                      (docs/scale-out.md)
``ws.gateways``            1          gateway processes with ``ws.split``
``ws.split_timeout``       5.0        seconds a gateway waits for a ready business
                                      worker before answering 503 (HTTP) or closing
                                      with 1013 (WebSocket)
``ws.gateway_sockets``     ``[]``     the gateways' Unix sockets (set by the process
                                      manager in business workers,
                                      ``SWOOP_WS__GATEWAY_SOCKETS``)
=========================  =========  ====================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from framework.config import Config
from framework.websocket.clientid import default_node, default_worker

__all__ = ["WsSettings"]


@dataclass(frozen=True, slots=True)
class WsSettings:
    max_message_size: int = 1024 * 1024
    max_connections: int = 10_000
    allowed_origins: tuple[str, ...] = ()
    ping_interval: float = 25.0
    ping_max_missed: int = 2
    idle_timeout: float = 0.0
    rate_limit: float = 0.0
    rate_burst: float = 0.0
    send_queue_size: int = 256
    slow_client_drops: int = 100
    close_timeout: float = 5.0
    node: str = "local"
    worker: int = 0
    client_js: bool = True
    bus: str = "local"
    hub: str | None = None
    bus_namespace: str = "swoop"
    bus_timeout: float = 5.0
    bus_queue_size: int = 10_000
    bus_heartbeat: float = 1.0
    bus_ttl: float = 10.0
    bus_backoff_max: float = 5.0
    split: bool = False
    gateways: int = 1
    split_timeout: float = 5.0
    gateway_sockets: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> WsSettings:
        """Read the ``ws.*`` keys (see the module docs).

        Raises:
            ConfigError: a value has the wrong type.
        """
        rate = config.get("ws.rate_limit", 0.0, type=float)
        worker = config.get("ws.worker", None, type=int)
        return cls(
            max_message_size=config.get("ws.max_message_size", 1024 * 1024, type=int),
            max_connections=config.get("ws.max_connections", 10_000, type=int),
            allowed_origins=tuple(config.get("ws.allowed_origins", [], type=list[str])),
            ping_interval=config.get("ws.ping_interval", 25.0, type=float),
            ping_max_missed=config.get("ws.ping_max_missed", 2, type=int),
            idle_timeout=config.get("ws.idle_timeout", 0.0, type=float),
            rate_limit=rate,
            rate_burst=config.get("ws.rate_burst", rate, type=float),
            send_queue_size=config.get("ws.send_queue_size", 256, type=int),
            slow_client_drops=config.get("ws.slow_client_drops", 100, type=int),
            close_timeout=config.get("ws.close_timeout", 5.0, type=float),
            node=config.get("ws.node", None, type=str) or default_node(),
            worker=default_worker() if worker is None else worker,
            client_js=config.get("ws.client_js", True, type=bool),
            bus=config.get("ws.bus", "local", type=str),
            hub=config.get("ws.hub", None, type=str) or None,
            bus_namespace=config.get("ws.bus_namespace", "swoop", type=str),
            bus_timeout=config.get("ws.bus_timeout", 5.0, type=float),
            bus_queue_size=config.get("ws.bus_queue_size", 10_000, type=int),
            bus_heartbeat=config.get("ws.bus_heartbeat", 1.0, type=float),
            bus_ttl=config.get("ws.bus_ttl", 10.0, type=float),
            bus_backoff_max=config.get("ws.bus_backoff_max", 5.0, type=float),
            split=config.get("ws.split", False, type=bool),
            gateways=config.get("ws.gateways", 1, type=int),
            split_timeout=config.get("ws.split_timeout", 5.0, type=float),
            gateway_sockets=tuple(config.get("ws.gateway_sockets", [], type=list[str])),
        )
