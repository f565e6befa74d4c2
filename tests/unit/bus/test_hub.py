"""The hub and its workers (HubBus) over a real Unix socket, with in-memory connections."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from framework.bus import AsyncPushClient, BusError, BusUnavailableError, Hub, PushClient
from framework.bus.hub_bus import HubBus
from framework.websocket import Gateway

from .conftest import connect, hub_gateway

pytestmark = pytest.mark.anyio


async def settle(hub: Hub, connections: int) -> None:
    with anyio.fail_after(5):
        while hub.directory.answer("all_count", []) != connections:  # noqa: ASYNC110
            await anyio.sleep(0.01)


@pytest.fixture
async def two_workers(hub_path: str) -> AsyncIterator[tuple[Hub, Gateway, Gateway]]:
    async with Hub(hub_path) as hub:
        a, b = hub_gateway(hub_path, 1), hub_gateway(hub_path, 2)
        for gateway in (a, b):
            await gateway.bus.start()  # type: ignore[attr-defined]
        try:
            yield hub, a, b
        finally:
            for gateway in (a, b):
                await gateway.bus.aclose()


async def test_every_call_across_two_workers(two_workers: tuple[Hub, Gateway, Gateway]) -> None:
    hub, a, b = two_workers
    (ca, sa), (cb, sb) = connect(a), connect(b)
    await settle(hub, 2)
    assert await b.bind_uid(ca.id, "ada") and await a.bind_uid(cb.id, "ada")
    assert ca.uid == cb.uid == "ada"
    assert sorted(await a.client_ids_by_uid("ada")) == sorted([ca.id, cb.id])
    assert await b.uid_by_client(ca.id) == "ada" and await a.is_online(cb.id)
    await a.send_to_uid("ada", "both tabs")
    assert await b.join_group(ca.id, "room") and await a.join_group(cb.id, "room")
    assert await b.group_count("room") == 2 and await a.all_count() == 2
    await b.send_to_group("room", {"x": 1}, exclude=cb.id)
    await a.send_to_client(cb.id, b"direct")
    await a.send_to_all("all")
    assert await b.update_session(ca.id, {"k": 1}) and await b.get_session(ca.id) == {"k": 1}
    assert await a.leave_group(cb.id, "room") and await b.group_client_ids("room") == [ca.id]
    await b.ungroup("room")
    assert ca.groups == set() and await a.group_count("room") == 0
    assert await b.unbind_uid(ca.id) and await a.client_ids_by_uid("ada") == [cb.id]
    with anyio.fail_after(5):
        while len(sb.frames) < 3:  # noqa: ASYNC110
            await anyio.sleep(0.01)
    assert sorted(sa.frames) == sorted(["both tabs", '{"x":1}', "all"])
    assert sb.frames == ["both tabs", b"direct", "all"]
    assert await b.close_client(ca.id, 4000, "bye")
    await anyio.sleep(0.05)
    assert sa.frames[-1] == 4000
    ca.closed()
    a.registry.remove(ca)
    await settle(hub, 1)
    assert not await b.is_online(ca.id) and await b.close_client(ca.id) is False
    assert await b.get_session(ca.id) is None
    stats = a.bus.stats()  # type: ignore[attr-defined]
    assert stats["bus"] == "hub" and stats["connected"] and stats["connections"] == 0
    assert stats["messages_out"] > 0 and stats["dropped"] == 0
    cb.closed()


async def test_a_worker_that_leaves_is_forgotten_at_once(hub_path: str) -> None:
    async with Hub(hub_path):
        a, b = hub_gateway(hub_path, 1), hub_gateway(hub_path, 2)
        await a.bus.start()  # type: ignore[attr-defined]
        await b.bus.start()  # type: ignore[attr-defined]
        ca, _ = connect(a)
        await a.bind_uid(ca.id, "ada")
        await a.join_group(ca.id, "room")
        assert await b.group_count("room") == 1
        runner = a.bus._runner  # type: ignore[attr-defined]
        runner.cancel()  # the worker's socket closes, as when its process dies
        with anyio.fail_after(5):
            while await b.all_count():  # noqa: ASYNC110
                await anyio.sleep(0.01)
        assert not await b.is_uid_online("ada") and await b.group_count("room") == 0
        assert await b.close_client(ca.id) is False
        await a.bus.aclose()
        await b.bus.aclose()
        ca.closed()


async def test_worker_reconnects_and_resends_its_state(
    hub_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    a = hub_gateway(hub_path, 1, timeout=0.5, backoff_max=0.1)
    with caplog.at_level(logging.WARNING, "swoop.bus"):
        await a.bus.start()  # type: ignore[attr-defined]  # no hub yet: starts degraded
        conn, sink = connect(a)
        await a.join_group(conn.id, "room")  # local changes work without the hub
        await a.send_to_group("room", "local")
        assert sink.frames == ["local"]
        with pytest.raises(BusUnavailableError, match="hub is not connected"):
            await a.group_count("room")
        async with Hub(hub_path) as hub:
            with anyio.fail_after(5):
                while not a.bus.connected:  # type: ignore[attr-defined]  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            assert hub.directory.answer("group_client_ids", ["room"]) == [conn.id]
            b = hub_gateway(hub_path, 2)
            await b.bus.start()  # type: ignore[attr-defined]
            assert await b.group_count("room") == 1
            await b.bus.aclose()
        await a.send_to_uid("ada", "nobody")  # hub gone again: remote part dropped
        assert a.bus.stats()["reconnects"] == 0  # type: ignore[attr-defined]
        await a.bus.aclose()
    assert "not reachable yet" in caplog.text and "lost the hub" in caplog.text
    conn.closed()


async def test_hub_refuses_a_second_worker_with_the_same_key(
    hub_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Hub(hub_path):
        a, twin = hub_gateway(hub_path, 1), hub_gateway(hub_path, 1, timeout=0.3)
        twin.ids = a.ids  # same node, worker and boot second
        twin.bus.worker = a.bus.worker  # type: ignore[attr-defined]
        await a.bus.start()  # type: ignore[attr-defined]
        with caplog.at_level(logging.ERROR, "swoop.bus"):
            await twin.bus.start()  # type: ignore[attr-defined]
        assert "already connected" in caplog.text and not twin.bus.connected  # type: ignore[attr-defined]
        await twin.bus.aclose()
        await a.bus.aclose()


async def test_hub_socket_file(hub_path: str) -> None:
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(hub_path)  # a file left by a dead master: replaced
    async with Hub(hub_path):
        with pytest.raises(BusError, match="already listens"):
            async with Hub(hub_path):
                pass
    assert not Path(hub_path).exists()  # noqa: ASYNC240
    with pytest.raises(BusError, match="more than the 107"):
        Hub("/tmp/" + "x" * 120)


async def test_push_clients(two_workers: tuple[Hub, Gateway, Gateway], hub_path: str) -> None:
    _, a, b = two_workers
    (ca, sa), (cb, sb) = connect(a), connect(b)
    await a.bind_uid(ca.id, "ada")
    await b.join_group(cb.id, "room")
    async with AsyncPushClient(hub_path) as push:
        await push.send_to_uid("ada", "to ada")
        await push.send_to_group("room", "to room")
        assert await push.all_count() == 2 and await push.group_client_ids("room") == [cb.id]
        assert await push.set_session(cb.id, {"n": 1}) and await push.get_session(cb.id) == {"n": 1}
        assert await push.bind_uid(cb.id, "bob") and await a.uid_by_client(cb.id) == "bob"
        with pytest.raises(BusError, match="JSON"):
            await push.set_session(cb.id, {"n": object()})

    def sync_side() -> tuple[bool, int]:
        with PushClient(hub_path) as client:
            client.send_to_client(ca.id, "sync")
            return client.is_uid_online("bob"), client.group_count("room")

    assert await anyio.to_thread.run_sync(sync_side) == (True, 1)
    with anyio.fail_after(5):
        while len(sa.frames) < 2 or len(sb.frames) < 1:  # noqa: ASYNC110
            await anyio.sleep(0.01)
    assert sa.frames == ["to ada", "sync"] and sb.frames == ["to room"]
    with pytest.raises(BusUnavailableError, match="not reachable"):
        async with AsyncPushClient(hub_path + ".nope") as nowhere:
            await nowhere.all_count()
    ca.closed()
    cb.closed()


async def test_bounded_queue_drops_and_counts(hub_path: str) -> None:
    async with Hub(hub_path):
        a = hub_gateway(hub_path, 1, queue_size=2)
        await a.bus.start()  # type: ignore[attr-defined]
        bus: HubBus = a.bus  # type: ignore[assignment]
        for _ in range(50):  # the writer task does not run in between: no await suspends
            await a.send_to_all("x")
        assert bus.stats()["dropped"] == 48
        await asyncio.sleep(0)
        await bus.aclose()
