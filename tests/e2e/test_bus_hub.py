"""Two workers on one host through the hub: every Gateway call from worker A reaches or
reports the connections of worker B; a killed worker leaves presence at once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import connect

from framework import Application
from framework.bus import Hub, PushClient
from framework.testing.servers import serve_asgi
from framework.testing.ws import call, nothing_arrives, recv
from framework.websocket import (
    Connection,
    Gateway,
    WebSocketExtension,
    message_mapping,
    ws_asgi_app,
    ws_controller,
    ws_module,
)

pytestmark = pytest.mark.anyio


@ws_controller("chat")
class ChatController:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @message_mapping("login")
    async def login(self, conn: Connection, data: str) -> str:
        await self.gateway.bind_uid(conn.id, data)
        return conn.id

    @message_mapping("join")
    async def join(self, conn: Connection, data: str) -> int:
        await self.gateway.join_group(conn.id, data)
        return await self.gateway.group_count(data)

    @message_mapping("say")
    async def say(self, conn: Connection, room: str, text: str) -> None:
        await self.gateway.send_to_group(room, {"cmd": "said", "data": text}, exclude=conn.id)


@ws_module("/chat", controllers=[ChatController])
class ChatModule:
    pass


def chat_app(worker: int, hub: str) -> Application:
    config = {"ws": {"node": "host1", "worker": worker, "hub": hub}}
    return Application.from_classes(
        ChatModule, ChatController, extensions=[WebSocketExtension()], config=config
    )


@pytest.fixture
def hub_path() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="swoop-bus-")
    try:
        yield str(Path(folder) / "hub.sock")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def workers(hub_path: str) -> AsyncIterator[tuple[list[str], list[Gateway]]]:
    """The hub and two ws servers (workers 1 and 2) using it."""
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(Hub(hub_path))
        urls, gateways = [], []
        for worker in (1, 2):
            app = chat_app(worker, hub_path)
            url = await stack.enter_async_context(serve_asgi(ws_asgi_app(app)))
            urls.append(url.replace("http://", "ws://") + "/chat")
            gateways.append(app.container.get(Gateway))
        yield urls, gateways


async def test_every_gateway_call_across_two_workers(
    workers: tuple[list[str], list[Gateway]],
) -> None:
    (url_a, url_b), (gw_a, gw_b) = workers
    async with connect(url_a) as a, connect(url_b) as b1, connect(url_b) as b2:
        id_a = await call(a, "chat.login", "ada")
        id_b1 = await call(b1, "chat.login", "bob")
        id_b2 = await call(b2, "chat.login", "ada")  # ada's second tab, on worker 2
        assert id_a.startswith("host1-1-") and id_b1.startswith("host1-2-")

        # presence and counts asked on A answer about B
        assert await gw_a.all_count() == 3 and await gw_b.all_count() == 3
        assert await gw_a.is_online(id_b1) and await gw_a.uid_by_client(id_b1) == "bob"
        assert sorted(await gw_a.client_ids_by_uid("ada")) == sorted([id_a, id_b2])
        assert await gw_a.is_uid_online("bob") and not await gw_a.is_uid_online("eve")

        # sends from A reach B
        await gw_a.send_to_uid("ada", "both tabs")
        assert await recv(a) == await recv(b2) == "both tabs"
        await gw_a.send_to_client(id_b1, "just bob")
        assert await recv(b1) == "just bob"
        await gw_a.send_to_all("everyone", exclude=id_b2)
        assert [await recv(a), await recv(b1)] == ["everyone"] * 2
        assert await nothing_arrives(b2)

        # groups across workers, a chat room with members on both
        assert await call(a, "chat.join", "lobby") == 1
        assert await call(b1, "chat.join", "lobby") == 2
        assert await gw_a.join_group(id_b2, "lobby")  # A puts B's client in a group
        assert sorted(await gw_a.group_client_ids("lobby")) == sorted([id_a, id_b1, id_b2])
        await call(a, "chat.say", {"room": "lobby", "text": "hi"})
        said = {"cmd": "said", "data": "hi"}
        assert json.loads(await recv(b1)) == json.loads(await recv(b2)) == said
        assert await nothing_arrives(a)
        assert await gw_a.leave_group(id_b2, "lobby") and not await gw_a.leave_group(id_b2, "lobby")
        assert await gw_b.group_count("lobby") == 2
        await gw_a.ungroup("lobby")
        assert await gw_b.group_count("lobby") == 0

        # uid binding and sessions of B's clients, from A
        assert await gw_a.bind_uid(id_b1, "robert") and await gw_b.uid_by_client(id_b1) == "robert"
        assert await gw_a.unbind_uid(id_b1) and not await gw_b.is_uid_online("robert")
        assert await gw_a.update_session(id_b1, {"score": 3})
        assert await gw_a.get_session(id_b1) == {"score": 3}
        assert await gw_a.set_session(id_b1, {"fresh": 1})
        assert await gw_b.get_session(id_b1) == {"fresh": 1}

        # closing B's client from A
        assert await gw_a.close_client(id_b2, 4000, "bye")
        await b2.wait_closed()
        assert b2.close_code == 4000
        with anyio.fail_after(5):
            while await gw_a.is_online(id_b2):  # noqa: ASYNC110
                await anyio.sleep(0.01)
        assert await gw_a.close_client(id_b2) is False
        assert await gw_a.client_ids_by_uid("ada") == [id_a]
    with anyio.fail_after(5):
        while await gw_a.all_count():  # noqa: ASYNC110
            await anyio.sleep(0.01)
    stats = gw_a.bus.stats()  # type: ignore[attr-defined]
    assert stats["connected"] and stats["messages_out"] > 0 and stats["dropped"] == 0


CHAT_WORKER = Path(__file__).with_name("chat_worker.py")


@pytest.fixture
async def worker_process(
    workers: Any, hub_path: str
) -> AsyncIterator[tuple[subprocess.Popen[str], str]]:
    """A worker in a process of its own (to be killed with SIGKILL), once the hub runs."""
    proc = subprocess.Popen(  # noqa: ASYNC220 (starting it does not block)
        [
            sys.executable,
            str(CHAT_WORKER),
            json.dumps({"node": "host1", "worker": 9, "hub": hub_path}),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = (await anyio.to_thread.run_sync(proc.stdout.readline)).strip()
        assert url.startswith("http://"), "the worker process did not start"
        yield proc, url.replace("http://", "ws://") + "/chat"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


async def test_a_killed_worker_leaves_presence(
    workers: tuple[list[str], list[Gateway]],
    worker_process: tuple[subprocess.Popen[str], str],
    hub_path: str,
) -> None:
    (url_a, _), (gw_a, _) = workers
    proc, url_c = worker_process
    async with connect(url_a) as a:
        await call(a, "chat.login", "ada")
        await call(a, "chat.join", "lobby")
        async with connect(url_c) as c:
            id_c = await call(c, "chat.login", "carol")
            assert await gw_a.group_count("lobby") == 2 and await gw_a.is_online(id_c)

            def external_view() -> tuple[int, str | None]:  # blocking: out of the hub's loop
                with PushClient(hub_path) as push:
                    return push.all_count(), push.uid_by_client(id_c)

            assert await anyio.to_thread.run_sync(external_view) == (2, "carol")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            with anyio.fail_after(5):
                while await gw_a.all_count() != 1:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            assert not await gw_a.is_online(id_c) and not await gw_a.is_uid_online("carol")
            assert (
                await gw_a.group_client_ids("lobby") != [] and await gw_a.group_count("lobby") == 1
            )
            await gw_a.send_to_group("lobby", "still here")  # nothing routed to the dead one
            assert await recv(a) == "still here"
