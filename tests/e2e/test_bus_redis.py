"""Two hosts (two ws servers with their own node names) sharing a real Redis: chat rooms,
uid sends and presence across them, Redis killed and restarted mid-test, a dead host that
expires, an external push client, and the subscription watchdog."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import connect

from framework import Application
from framework.bus import BusUnavailableError
from framework.testing.servers import serve_asgi
from framework.testing.system import require_binary, require_module
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

FAST = {"bus_heartbeat": 0.2, "bus_ttl": 1.5, "bus_backoff_max": 0.2, "bus_timeout": 2.0}


class RedisServer:
    """A throwaway redis-server on a loopback port, without persistence."""

    def __init__(self, binary: str, port: int) -> None:
        self.binary, self.port = binary, port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def redis_server(free_tcp_port: int) -> Iterator[RedisServer]:
    require_module("redis", pip="'swoop-framework[redis]'")
    server = RedisServer(require_binary("redis-server", apt="redis-server"), free_tcp_port)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@ws_controller("chat")
class ChatController:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @message_mapping("login")
    async def login(self, conn: Connection, data: str) -> str:
        await self.gateway.bind_uid(conn.id, data)
        return conn.id

    @message_mapping("join")
    async def join(self, conn: Connection, data: str) -> None:
        await self.gateway.join_group(conn.id, data)

    @message_mapping("say")
    async def say(self, conn: Connection, room: str, text: str) -> None:
        await self.gateway.send_to_group(room, {"cmd": "said", "data": text}, exclude=conn.id)


@ws_module("/chat", controllers=[ChatController])
class ChatModule:
    pass


@pytest.fixture
async def hosts(redis_server: RedisServer) -> AsyncIterator[tuple[list[str], list[Gateway]]]:
    """Two "masters" on different ports and nodes, sharing Redis."""
    async with AsyncExitStack() as stack:
        urls, gateways = [], []
        for node in ("host1", "host2"):
            config = {"ws": {"node": node, "worker": 0, "bus": redis_server.url, **FAST}}
            app = Application.from_classes(
                ChatModule, ChatController, extensions=[WebSocketExtension()], config=config
            )
            url = await stack.enter_async_context(serve_asgi(ws_asgi_app(app)))
            urls.append(url.replace("http://", "ws://") + "/chat")
            gateways.append(app.container.get(Gateway))
        yield urls, gateways


async def test_chat_uids_and_presence_across_hosts(
    hosts: tuple[list[str], list[Gateway]],
) -> None:
    (url1, url2), (gw1, gw2) = hosts
    async with connect(url1) as a1, connect(url2) as a2, connect(url2) as bob:
        id_a1 = await call(a1, "chat.login", "ada")
        id_a2 = await call(a2, "chat.login", "ada")  # a second tab, on the other host
        id_bob = await call(bob, "chat.login", "bob")
        assert id_a1.startswith("host1-0-") and id_a2.startswith("host2-0-")
        for ws in (a1, a2, bob):
            await call(ws, "chat.join", "lobby")

        await call(a1, "chat.say", {"room": "lobby", "text": "hi"})  # a room across hosts
        said = {"cmd": "said", "data": "hi"}
        assert json.loads(await recv(a2)) == json.loads(await recv(bob)) == said
        assert await nothing_arrives(a1)

        await gw2.send_to_uid("ada", "every tab")  # tabs on both hosts
        assert await recv(a1) == await recv(a2) == "every tab"
        await gw1.send_to_client(id_bob, b"\x01")
        assert await recv(bob) == b"\x01"
        await gw1.send_to_all("all", exclude=[id_a2])
        assert [await recv(a1), await recv(bob)] == ["all", "all"]

        for gw in (gw1, gw2):  # the same answers whichever host asks
            assert await gw.all_count() == 3 and await gw.group_count("lobby") == 3
            assert sorted(await gw.client_ids_by_uid("ada")) == sorted([id_a1, id_a2])
            assert await gw.is_online(id_bob) and await gw.uid_by_client(id_a2) == "ada"
        assert await gw1.update_session(id_bob, {"k": 1}) and await gw1.get_session(id_bob) == {
            "k": 1
        }
        assert await gw1.leave_group(id_bob, "lobby") and await gw2.group_count("lobby") == 2
        await gw2.ungroup("lobby")
        assert await gw1.group_count("lobby") == 0
        assert await gw1.close_client(id_a2, 4000, "bye")
        await a2.wait_closed()
        with anyio.fail_after(5):
            while await gw1.is_online(id_a2):  # noqa: ASYNC110
                await anyio.sleep(0.02)
        assert await gw1.client_ids_by_uid("ada") == [id_a1]
    with anyio.fail_after(5):
        while await gw1.all_count():  # noqa: ASYNC110
            await anyio.sleep(0.02)


async def test_redis_killed_and_restarted(
    hosts: tuple[list[str], list[Gateway]],
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (url1, url2), (gw1, gw2) = hosts
    caplog.set_level(logging.WARNING, "swoop.bus")
    async with connect(url1) as a, connect(url1) as a_local, connect(url2) as b:
        for ws in (a, a_local, b):
            await call(ws, "chat.join", "room")
        redis_server.kill()
        with anyio.fail_after(5):
            while gw1.bus.connected:  # type: ignore[attr-defined]  # noqa: ASYNC110
                await anyio.sleep(0.02)
        await call(a, "chat.say", {"room": "room", "text": "during the outage"})
        assert json.loads(await recv(a_local))["data"] == "during the outage"  # local: works
        assert await nothing_arrives(b)  # remote: dropped and counted
        with pytest.raises(BusUnavailableError, match="not connected"):
            await gw1.group_count("room")
        dropped = gw1.bus.stats()["dropped"]  # type: ignore[attr-defined]
        assert dropped >= 1

        redis_server.start()  # empty: every worker writes its state again
        with anyio.fail_after(10):
            while True:
                try:
                    if await gw1.group_count("room") == 3:
                        break
                except BusUnavailableError:
                    pass
                await anyio.sleep(0.05)
        await call(a, "chat.say", {"room": "room", "text": "back"})
        assert json.loads(await recv(b))["data"] == "back"
        assert json.loads(await recv(a_local))["data"] == "back"
        stats = gw1.bus.stats()  # type: ignore[attr-defined]
        assert stats["connected"] and stats["reconnects"] >= 1 and stats["resyncs"] >= 2
        assert stats["dropped"] == dropped and gw2.bus.stats()["reconnects"] >= 1  # type: ignore[attr-defined]
    assert "lost Redis" in caplog.text and "reconnected to Redis" in caplog.text
    assert "dropped" in caplog.text


PUSH_SCRIPT = """
import sys
from framework.bus import PushClient

with PushClient(sys.argv[1], ttl=1.5) as push:
    push.send_to_uid("ada", {"cmd": "notice", "data": "from cron"})
    print(push.is_uid_online("ada"), push.all_count(), flush=True)
"""


async def test_push_client_from_another_process(
    hosts: tuple[list[str], list[Gateway]], redis_server: RedisServer, tmp_path: Path
) -> None:
    (_, url2), _ = hosts
    script = tmp_path / "push.py"
    script.write_text(textwrap.dedent(PUSH_SCRIPT))
    async with connect(url2) as ada:
        await call(ada, "chat.login", "ada")
        result = await anyio.run_process([sys.executable, str(script), redis_server.url])
        assert result.stdout.decode().split() == ["True", "1"]
        assert json.loads(await recv(ada)) == {"cmd": "notice", "data": "from cron"}


CHAT_WORKER = Path(__file__).with_name("chat_worker.py")


async def test_a_dead_host_expires_within_the_ttl(
    hosts: tuple[list[str], list[Gateway]], redis_server: RedisServer
) -> None:
    _, (gw1, _) = hosts
    ws = {"node": "host3", "worker": 0, "bus": redis_server.url, "bus_heartbeat": 0.2}
    proc = subprocess.Popen(  # noqa: ASYNC220 (starting it does not block)
        [sys.executable, str(CHAT_WORKER), json.dumps({**ws, "bus_ttl": 1.5})],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = (await anyio.to_thread.run_sync(proc.stdout.readline)).strip()
        async with connect(url.replace("http://", "ws://") + "/chat") as carol:
            await call(carol, "chat.login", "carol")
            assert await gw1.is_uid_online("carol") and await gw1.group_count("lobby") == 1
            proc.kill()  # no goodbye: its entries stay in Redis until they expire
            proc.wait()
            started = time.monotonic()
            with anyio.fail_after(5):
                while await gw1.all_count():  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            assert time.monotonic() - started < 1.5 + 0.5  # the ttl, plus a little slack
            assert not await gw1.is_uid_online("carol") and await gw1.group_count("lobby") == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


async def test_watchdog_resubscribes_a_silent_subscription(
    hosts: tuple[list[str], list[Gateway]], caplog: pytest.LogCaptureFixture
) -> None:
    (_, url2), (gw1, gw2) = hosts
    bus: Any = gw2.bus
    caplog.set_level(logging.WARNING, "swoop.bus")
    async with connect(url2) as b:
        await call(b, "chat.login", "bob")
        # Redis drops the subscription while the connection stays up: nothing arrives and
        # nothing fails, only the watchdog can notice
        await bus._pubsub.unsubscribe(bus.channel)
        with anyio.fail_after(5):
            while not bus.watchdog_trips:  # noqa: ASYNC110
                await anyio.sleep(0.05)
        with anyio.fail_after(5):
            while True:
                await gw1.send_to_uid("bob", "found again")
                with anyio.move_on_after(0.3):
                    assert await b.recv() == "found again"
                    break
    assert "stopped delivering (watchdog)" in caplog.text
