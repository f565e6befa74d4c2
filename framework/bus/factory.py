"""Choose a worker's bus from the ``ws.*`` config.

=============================  ==============================================================
``ws.bus``                     bus
=============================  ==============================================================
``"local"`` (default)          :class:`~framework.websocket.bus.InProcessBus` (one worker), or
                               :class:`~framework.bus.hub_bus.HubBus` when ``ws.hub`` names
                               the hub's socket (the process manager sets ``SWOOP_WS__HUB``)
``"hub"``                      :class:`HubBus`; ``ws.hub`` is required
``"redis://host:port/db"``     :class:`~framework.bus.redis_bus.RedisBus` (also
                               ``rediss://``); needs ``pip install 'swoop-framework[redis]'``
=============================  ==============================================================

The other ``ws.bus_*`` keys (timeout, queue size, heartbeat, ttl, backoff, namespace) are
described in :mod:`framework.websocket.settings` and docs/scale-out.md.
"""

from __future__ import annotations

from framework.bus.errors import BusError
from framework.websocket.bus import Bus, InProcessBus
from framework.websocket.clientid import ClientIdFactory
from framework.websocket.registry import Registry
from framework.websocket.settings import WsSettings

__all__ = ["REDIS_SCHEMES", "build_bus"]

REDIS_SCHEMES = ("redis://", "rediss://")


def build_bus(settings: WsSettings, ids: ClientIdFactory) -> tuple[Registry, Bus]:
    """The registry and the bus of one worker, as ``ws.bus`` and ``ws.hub`` ask.

    Nothing connects yet: a bus with a ``start()`` method connects when the application
    starts (the WebSocket extension calls it).

    Raises:
        BusError: ``ws.bus`` is not one of the values above, ``"hub"`` without ``ws.hub``,
            or Redis asked for without the ``redis`` package.
    """
    choice = settings.bus.strip()
    if choice.startswith(REDIS_SCHEMES):
        return _redis(settings, ids, choice)
    if choice == "hub" or (choice == "local" and settings.hub):
        if not settings.hub:
            raise BusError(
                'ws.bus = "hub" needs the hub\'s socket path\n'
                '  fix: set ws.hub = "runtime/ws-hub.sock" (appctl sets SWOOP_WS__HUB itself)'
            )
        from framework.bus.cluster import TrackedRegistry
        from framework.bus.hub_bus import HubBus

        registry = TrackedRegistry()
        bus = HubBus(
            settings.hub,
            registry,
            ids,
            timeout=settings.bus_timeout,
            queue_size=settings.bus_queue_size,
            backoff_max=settings.bus_backoff_max,
        )
        return registry, bus
    if choice == "local":
        local = Registry()
        return local, InProcessBus(local)
    raise BusError(
        f"ws.bus = {settings.bus!r} is not a bus\n"
        '  fix: use "local" (one host: add ws.hub for several workers), "hub", or a Redis URL '
        '"redis://host:6379/0"'
    )


def _redis(settings: WsSettings, ids: ClientIdFactory, url: str) -> tuple[Registry, Bus]:
    try:
        from framework.bus.redis_bus import RedisBus
    except ImportError as exc:
        raise BusError(
            f"ws.bus = {url!r} needs the redis package ({exc})\n"
            "  fix: pip install 'swoop-framework[redis]'"
        ) from exc
    from framework.bus.cluster import TrackedRegistry

    registry = TrackedRegistry()
    bus = RedisBus(
        url,
        registry,
        ids,
        namespace=settings.bus_namespace,
        timeout=settings.bus_timeout,
        queue_size=settings.bus_queue_size,
        heartbeat=settings.bus_heartbeat,
        ttl=settings.bus_ttl,
        backoff_max=settings.bus_backoff_max,
    )
    return registry, bus
