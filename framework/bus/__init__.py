"""The bus behind the Gateway API across workers and hosts (docs/scale-out.md).

- :class:`Hub`: the cluster state of one host's workers, served over a Unix socket (the
  master hosts it); :class:`HubBus`: a worker's side of it.
- :class:`~framework.bus.redis_bus.RedisBus`: several hosts through Redis (extra ``redis``).
- :class:`PushClient` / :class:`AsyncPushClient`: the Gateway API for any other process.
- :func:`build_bus`: what ``ws.bus`` / ``ws.hub`` choose.
"""

from framework.bus.client import AsyncPushClient, PushClient
from framework.bus.errors import BusError, BusUnavailableError, ProtocolError
from framework.bus.factory import build_bus
from framework.bus.hub import Hub
from framework.bus.hub_bus import HubBus

__all__ = [
    "AsyncPushClient",
    "BusError",
    "BusUnavailableError",
    "Hub",
    "HubBus",
    "ProtocolError",
    "PushClient",
    "build_bus",
]
