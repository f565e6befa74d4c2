"""Fixtures of the bus tests: a short socket path, workers with in-memory connections."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.bus.cluster import TrackedRegistry
from framework.bus.hub_bus import HubBus
from framework.websocket import ClientIdFactory, Connection, ConnectionState, Gateway, JsonParser


@pytest.fixture
def hub_path() -> Iterator[str]:
    """A Unix socket path short enough for sun_path (pytest's tmp_path may not be)."""
    folder = tempfile.mkdtemp(prefix="swoop-bus-")
    try:
        yield str(Path(folder) / "hub.sock")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Sink:
    """An ASGI send that records the frames a connection writes."""

    def __init__(self) -> None:
        self.frames: list[Any] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.frames.append(message.get("text", message.get("bytes", message.get("code"))))


def hub_gateway(path: str, worker: int, **options: Any) -> Gateway:
    ids = ClientIdFactory("n", worker)
    registry = TrackedRegistry()
    return Gateway(ids, registry, HubBus(path, registry, ids, **options))


def connect(gateway: Gateway) -> tuple[Connection, Sink]:
    sink = Sink()
    conn = Connection(
        gateway.ids.next(),
        {"path": "/", "headers": [], "query_string": b""},
        sink,
        parser=JsonParser(),
        path_params={},
        stats=gateway.stats,
    )
    conn.state = ConnectionState.OPEN
    gateway.registry.add(conn)
    return conn, sink
