"""``ws.bus`` and ``ws.hub`` choose the bus a worker's Gateway uses."""

from __future__ import annotations

import pytest

from framework import Application
from framework.bus import BusError, HubBus, build_bus
from framework.bus.cluster import TrackedRegistry
from framework.config import Config
from framework.testing.system import require_module
from framework.websocket import ClientIdFactory, Gateway, InProcessBus, WebSocketExtension
from framework.websocket.settings import WsSettings


def settings(**ws: object) -> WsSettings:
    return WsSettings.from_config(Config.from_mapping({"ws": ws}))


def test_choices() -> None:
    ids = ClientIdFactory("n", 1)
    registry, bus = build_bus(settings(), ids)
    assert isinstance(bus, InProcessBus) and bus.registry is registry
    assert bus.stats()["bus"] == "local"
    registry, bus = build_bus(settings(hub="/tmp/x.sock"), ids)
    assert isinstance(bus, HubBus) and isinstance(registry, TrackedRegistry)
    assert bus.worker == f"n-1-{ids.boot}" and bus.path == "/tmp/x.sock"
    with pytest.raises(BusError, match="needs the hub's socket path"):
        build_bus(settings(bus="hub"), ids)
    with pytest.raises(BusError, match="is not a bus"):
        build_bus(settings(bus="amqp://x"), ids)


def test_redis_choice() -> None:
    require_module("redis", pip="'swoop-framework[redis]'")
    from framework.bus.redis_bus import RedisBus

    ids = ClientIdFactory("n", 1)
    _, bus = build_bus(settings(bus="redis://127.0.0.1:1/0", bus_namespace="chat"), ids)
    assert isinstance(bus, RedisBus) and bus.channel == f"chat:w:n-1-{ids.boot}"
    with pytest.raises(BusError, match=r"must be longer than ws\.bus_heartbeat"):
        build_bus(settings(bus="redis://127.0.0.1:1/0", bus_ttl=1, bus_heartbeat=1), ids)


def test_the_extension_builds_its_bus_from_config() -> None:
    app = Application.from_classes(
        extensions=[WebSocketExtension()], config={"ws": {"hub": "/tmp/x.sock", "worker": 4}}
    )
    assert isinstance(app.container.get(Gateway).bus, HubBus)
