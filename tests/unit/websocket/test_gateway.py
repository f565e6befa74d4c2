"""The registry and the gateway over fake connections (an in-memory ASGI send)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from framework.websocket import ClientIdFactory, Connection, ConnectionState, Gateway, JsonParser
from framework.websocket.connection import SendStats

pytestmark = pytest.mark.anyio


class Sink:
    """An ASGI send that records frames; ``blocked`` makes it wait like a full socket."""

    def __init__(self) -> None:
        self.frames: list[Any] = []
        self.blocked: asyncio.Event | None = None

    async def __call__(self, message: dict[str, Any]) -> None:
        if self.blocked is not None:
            await self.blocked.wait()
        self.frames.append(message.get("text", message.get("bytes", message.get("code"))))


def connect(gateway: Gateway, **options: Any) -> tuple[Connection, Sink]:
    sink = Sink()
    conn = Connection(
        gateway.ids.next(),
        {"path": "/", "headers": [(b"cookie", b'a=1; b="x%20y"')], "query_string": b"q=1&q=2"},
        sink,
        parser=JsonParser(),
        path_params={},
        stats=gateway.stats,
        **options,
    )
    conn.state = ConnectionState.OPEN
    gateway.registry.add(conn)
    return conn, sink


@pytest.fixture
def gateway() -> Gateway:
    return Gateway(ClientIdFactory("n1", 0))


async def test_fan_out_encodes_once_and_respects_exclude(gateway: Gateway) -> None:
    (a, sa), (b, sb), (c, sc) = (connect(gateway) for _ in range(3))
    await gateway.join_group(a.id, "g")
    await gateway.join_group(b.id, "g")
    await gateway.send_to_group("g", {"x": 1}, exclude=a.id)
    await gateway.send_to_all("all", exclude=[b.id, c.id])
    await gateway.send_to_client([a.id, c.id], b"raw")
    assert sa.frames == ["all", b"raw"] and sb.frames == ['{"x":1}'] and sc.frames == [b"raw"]
    await gateway.bind_uid(a.id, "u")
    await gateway.bind_uid(a.id, "v")  # rebinding replaces
    assert await gateway.client_ids_by_uid("u") == [] and await gateway.uid_by_client(a.id) == "v"
    gateway.registry.remove(a)
    assert await gateway.group_client_ids("g") == [b.id]
    assert not await gateway.is_uid_online("v") and await gateway.all_count() == 2


async def test_handshake_data_of_a_connection(gateway: Gateway) -> None:
    conn, _ = connect(gateway)
    assert conn.query == {"q": "1"} and conn.cookies == {"a": "1", "b": "x y"}
    assert conn.session == {} and conn.client is None


async def test_slow_client_queue_drops_then_closes(gateway: Gateway) -> None:
    conn, sink = connect(gateway, queue_limit=2, max_drops=3)
    sink.blocked = asyncio.Event()
    assert conn.push("1")  # suspends: the rest of the send moves to a drain task
    assert conn.push("2") and conn.push("3")  # queued
    assert not conn.push("4") and not conn.push("5")  # dropped
    assert conn.dropped == 2 and gateway.stats.dropped == 2
    sink.blocked.set()
    await asyncio.sleep(0.01)
    assert sink.frames == ["1", "2", "3"]
    sink.blocked = asyncio.Event()
    conn.push("a")
    conn.push("b")
    conn.push("c")
    for frame in "def":
        conn.push(frame)  # three drops in a row: closed with 1013
    assert conn.state is ConnectionState.CLOSING and conn.close_code == 1013
    assert gateway.stats.closed_slow == 1
    sink.blocked.set()
    await asyncio.sleep(0.01)
    assert sink.frames[-1] == 1013
    conn.closed()


async def test_close_waits_for_queued_frames(gateway: Gateway) -> None:
    conn, sink = connect(gateway)
    sink.blocked = asyncio.Event()
    conn.push("last words")
    await gateway.close_client(conn.id, 4000, "bye")
    assert not conn.push("too late")
    sink.blocked.set()
    await asyncio.sleep(0.01)
    assert sink.frames == ["last words", 4000]
    conn.closed()


async def test_sessions(gateway: Gateway) -> None:
    conn, _ = connect(gateway)
    conn.session["a"] = 1
    assert await gateway.update_session(conn.id, {"b": 2})
    assert await gateway.get_session(conn.id) == {"a": 1, "b": 2}
    assert await gateway.set_session(conn.id, {"c": 3}) and conn.session == {"c": 3}
    assert not await gateway.set_session("n1-0-0-zz", {})


def test_send_stats_start_at_zero() -> None:
    stats = SendStats()
    assert (stats.dropped, stats.closed_slow) == (0, 0)
