"""``appctl`` end to end for a split ws server (``ws.split = true``): gateways hold the
WebSockets, business workers run the app.

The chat skeleton with 1 gateway and 2 business workers: chat and HTTP work; the app is
edited and ``ws:reload`` runs while clients send: no client is disconnected, no message is
lost and the new code answers; a business worker killed with SIGKILL leaves its clients
connected and served; a handshake refusal still works; a killed gateway is respawned;
``status`` shows the gateway; ``stop`` closes the WebSockets with 1001 and leaves nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from framework.testing.processes import appctl, free_port, port_is_free, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX process manager"),
]

GUARDED = '''"""A module whose handshake wants a token (for the split e2e test)."""

from framework.http import HTTPException
from framework.websocket import Connection, on_handshake, on_message, ws_module


@ws_module("/guarded", parser="raw")
class GuardedModule:
    @on_handshake
    def check(self, conn: Connection) -> dict[str, str]:
        if conn.query.get("token") != "secret":
            raise HTTPException(401, "token required")
        return {"user": "ok"}

    @on_message
    def echo(self, conn: Connection, frame: str) -> str:
        return f"{conn.session['user']}:{frame}"
'''

OLD_DELIVER = '"ts": time.time()}'
NEW_DELIVER = '"ts": time.time(), "v": 2}'


@dataclass
class SplitServer:
    """A daemonized split ws server; :meth:`cleanup` always leaves nothing behind."""

    app_dir: Path
    port: int
    seen: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def runtime(self) -> Path:
        return self.app_dir / "runtime"

    def run(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return appctl(self.app_dir, f"ws:{command}", *args)

    def start(self) -> subprocess.CompletedProcess[str]:
        flags = ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "2"]
        started = self.run("start", "-d", *flags)
        with contextlib.suppress(Exception):
            self.status()
        return started

    def status(self) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.run("status", "--json").stdout)
        self.seen.update(int(row["pid"]) for row in answer["rows"])
        return answer

    def pids(self, role: str) -> list[int]:
        rows = self.status()["rows"]
        return [int(r["pid"]) for r in rows if r["role"] == role and r["state"] == "ready"]

    def cleanup(self) -> None:
        """Stop the server if it still runs; kill what is left; leave the port free."""
        try:
            master: int | None = int((self.runtime / "ws.pid").read_text())
        except (OSError, ValueError):
            master = None
        if master:
            with contextlib.suppress(Exception):
                self.status()
            with contextlib.suppress(Exception):
                self.run("stop", "--timeout", "5")
        for pid in [p for p in (master, *self.seen) if p]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SplitServer]:
    created = appctl(tmp_path, "create:app", "chat", "--type", "ws")
    assert created.returncode == 0, created.stderr
    app_dir = tmp_path / "chat"
    with (app_dir / "config" / "ws.py").open("a") as config:
        config.write("split = True  # gateways hold the WebSockets; a reload keeps them open\n")
    (app_dir / "app" / "websocket" / "guarded.py").write_text(GUARDED)
    srv = SplitServer(app_dir, free_port())
    try:
        yield srv
    finally:
        srv.cleanup()


@dataclass
class Member:
    """A chat client in room lobby that sends numbered messages and records what arrives."""

    name: str
    ws: ClientConnection
    sent: int = 0
    acked: set[int] = field(default_factory=set)
    errors: list[Any] = field(default_factory=list)
    received: dict[str, dict[str, Any]] = field(default_factory=dict)  # text -> message data
    pushes: list[dict[str, Any]] = field(default_factory=list)
    closed: int | None = None
    joined: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        try:
            async for frame in self.ws:
                message = json.loads(frame)
                ext = message.get("ext") or {}
                if ext.get("id") == "join":
                    self.joined.set()
                elif "id" in ext:
                    (
                        self.errors.append(message)
                        if "error" in message
                        else self.acked.add(ext["id"])
                    )
                elif message.get("cmd") == "chat.message":
                    self.received[message["data"]["text"]] = message["data"]
                else:
                    self.pushes.append(message)
        except ConnectionClosed:
            pass
        self.closed = self.ws.close_code

    async def send(self, rate: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sent += 1
            data = {"room": "lobby", "text": f"{self.name}-{self.sent}"}
            await self.ws.send(
                json.dumps({"cmd": "chat.send", "data": data, "ext": {"id": self.sent}})
            )
            await asyncio.sleep(1 / rate)


async def _members(
    server: SplitServer, count: int
) -> tuple[list[Member], list[asyncio.Task[None]]]:
    members, readers = [], []
    for i in range(count):
        ws = await connect(server.url.replace("http", "ws") + "/chat", open_timeout=5)
        member = Member(f"user{i}", ws)
        readers.append(asyncio.create_task(member.read()))
        join = {"room": "lobby", "name": member.name}
        await ws.send(json.dumps({"cmd": "chat.join", "data": join, "ext": {"id": "join"}}))
        await asyncio.wait_for(member.joined.wait(), 5)
        members.append(member)
    return members, readers


async def _send_while(members: list[Member], action: Any, *, before: float, after: float) -> Any:
    """Every member sends 8 messages/s; ``action`` runs (in a thread) ``before`` seconds in;
    sending goes on ``after`` seconds past it; then what arrived settles."""
    stop = asyncio.Event()
    senders = [asyncio.create_task(m.send(8.0, stop)) for m in members]
    await asyncio.sleep(before)
    result = await asyncio.get_running_loop().run_in_executor(None, action)
    await asyncio.sleep(after)
    stop.set()
    await asyncio.gather(*senders)
    await asyncio.sleep(1.0)
    return result


def _check_nothing_lost(members: list[Member]) -> None:
    for member in members:
        assert member.closed is None, f"{member.name} was disconnected ({member.closed})"
        assert not member.errors, member.errors[:3]
        assert member.acked == set(range(1, member.sent + 1)), f"{member.name}: unanswered sends"
    expected = {f"{m.name}-{n}" for m in members for n in m.acked}
    for member in members:
        missing = expected - set(member.received)
        assert not missing, f"{member.name} missed {len(missing)}: {sorted(missing)[:5]}"


def test_split_chat_http_and_a_reload_that_keeps_every_websocket(server: SplitServer) -> None:
    started = server.start()
    assert started.returncode == 0, started.stderr
    assert "1 gateway: " in started.stdout and "2 business workers" in started.stdout
    status = server.status()
    assert status["split"] and len(status["gateways"]) == 1
    assert [r["slot"] for r in status["rows"] if r["role"] == "gateway"] == ["gw0"]
    text_status = server.run("status").stdout
    assert "gw0" in text_status
    for name in ("ws-hub.sock", "ws-gw-0.sock"):
        assert (server.runtime / name).exists(), name
    with httpx.Client(base_url=server.url, timeout=10) as http:
        home = http.get("/")
        assert home.status_code == 200 and "/_swoop/client.js" in home.text
        assert http.get("/_swoop/client.js").status_code == 200

    service = server.app_dir / "app" / "service" / "chat.py"
    assert OLD_DELIVER in service.read_text()

    def edit_and_reload() -> subprocess.CompletedProcess[str]:
        service.write_text(service.read_text().replace(OLD_DELIVER, NEW_DELIVER))
        return server.run("reload")

    async def scenario() -> None:
        members, readers = await _members(server, 4)
        reloaded = await _send_while(members, edit_and_reload, before=1.0, after=1.5)
        assert reloaded.returncode == 0, reloaded.stderr
        assert "reloaded 2 workers" in reloaded.stdout
        _check_nothing_lost(members)
        for member in members:  # the old code answered before the reload, the new one after
            assert "v" not in member.received[f"{member.name}-1"]
            assert member.received[f"{member.name}-{member.sent}"]["v"] == 2

        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            pushed = await http.post("/api/rooms/lobby/messages", json={"text": "from http"})
            assert pushed.status_code == 202 and pushed.json()["delivered"] == 4
            room = (await http.get("/api/rooms/lobby")).json()
            assert sorted(room["members"]) == sorted(m.name for m in members)
        await asyncio.sleep(0.5)
        for member in members:
            assert member.received["from http"]["from"] == "system"

        stopped = await asyncio.get_running_loop().run_in_executor(None, server.run, "stop")
        assert stopped.returncode == 0, stopped.stderr
        await asyncio.wait_for(asyncio.gather(*readers), 10)
        assert [m.closed for m in members] == [1001] * 4  # going away

    asyncio.run(scenario())
    assert not (server.runtime / "ws.pid").exists()
    for name in ("ws.sock", "ws-hub.sock", "ws-gw-0.sock"):
        assert not (server.runtime / name).exists(), name
    assert port_is_free(server.port)
    for pid in server.seen:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.timeout(90)
def test_split_killed_workers_handshake_refusal_and_a_gateway_respawn(server: SplitServer) -> None:
    started = server.start()
    assert started.returncode == 0, started.stderr
    business = server.pids("worker")
    assert len(business) == 2

    def kill_one() -> None:
        os.kill(business[0], signal.SIGKILL)

    async def chat() -> None:
        members, readers = await _members(server, 4)
        await _send_while(members, kill_one, before=0.5, after=1.5)
        _check_nothing_lost(members)  # its clients stayed connected and were served
        for member in members:
            await member.ws.close()
        await asyncio.gather(*readers)

    asyncio.run(chat())
    after = wait_for(lambda: len(p := server.pids("worker")) == 2 and business[0] not in p and p)
    assert business[1] in after  # the other worker went on; the killed one was respawned

    async def guarded() -> None:
        base = server.url.replace("http", "ws") + "/guarded"
        with pytest.raises(InvalidStatus) as refused:
            await connect(base, open_timeout=5)
        assert refused.value.response.status_code == 401
        assert refused.value.response.body == b"token required"
        with pytest.raises(InvalidStatus) as missing:
            await connect(server.url.replace("http", "ws") + "/nowhere", open_timeout=5)
        assert missing.value.response.status_code == 404
        async with connect(base + "?token=secret", open_timeout=5) as ws:
            await ws.send("hi")
            assert await asyncio.wait_for(ws.recv(), 5) == "ok:hi"

    asyncio.run(guarded())

    (gateway,) = server.pids("gateway")

    async def gateway_dies() -> None:
        async with connect(server.url.replace("http", "ws") + "/echo", open_timeout=5) as ws:
            os.kill(gateway, signal.SIGKILL)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)

    asyncio.run(gateway_dies())
    respawned = wait_for(lambda: (p := server.pids("gateway")) and p[0] != gateway and p)
    assert respawned

    async def echo_again() -> None:
        deadline = time.monotonic() + 10
        while True:  # the workers link to the new gateway within a moment
            try:
                async with connect(
                    server.url.replace("http", "ws") + "/echo", open_timeout=5
                ) as ws:
                    await ws.send("again")
                    assert await asyncio.wait_for(ws.recv(), 5) == "again"
                    return
            except InvalidStatus:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    asyncio.run(echo_again())
    assert server.run("stop").returncode == 0
    assert not (server.runtime / "ws.pid").exists()
    assert port_is_free(server.port)
