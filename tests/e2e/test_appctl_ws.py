"""``appctl`` end to end for the ws server, as a user runs it (subprocesses, a real port).

create:app --type ws -> ws:start -d (2 workers) -> the chat page, a chat room and the echo
module over real sockets -> edit a handler -> ws:reload: open WebSockets are closed with 1012,
clients reconnect and get the new behaviour -> ws:stop: open WebSockets are closed with 1001;
pid file gone, port free.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from framework.testing.processes import RequestLoop, appctl, free_port, port_is_free, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX process manager"),
]


@dataclass
class WsServer:
    """A daemonized ws server started by a test; :meth:`cleanup` always leaves nothing behind."""

    app_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.app_dir / "runtime" / "ws.pid"

    def run(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return appctl(self.app_dir, f"ws:{command}", *args)

    def start(self, *args: str) -> subprocess.CompletedProcess[str]:
        flags = ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "2"]
        return self.run("start", "-d", *flags, *args)

    def connect(self, path: str) -> ClientConnection:
        return connect(f"ws://127.0.0.1:{self.port}{path}", open_timeout=5, close_timeout=2)

    def cleanup(self) -> None:
        """Stop the server if it still runs; kill what is left; leave the port free."""
        pids: list[int] = []
        try:
            master: int | None = int(self.pid_file.read_text())
        except (OSError, ValueError):
            master = None
        if master:
            with contextlib.suppress(Exception):
                status = json.loads(self.run("status", "--json").stdout)
                pids = [row["pid"] for row in status["rows"]]
            with contextlib.suppress(Exception):
                self.run("stop", "--timeout", "5")
        for pid in [p for p in (master, *pids) if p]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


class Chat:
    """A /chat client speaking the JSON parser's protocol over the sync websockets client."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.backlog: list[dict[str, Any]] = []
        self._ids = count(1)

    def call(self, cmd: str, data: Any) -> dict[str, Any]:
        request_id = next(self._ids)
        self.ws.send(json.dumps({"cmd": cmd, "data": data, "ext": {"id": request_id}}))
        while (message := json.loads(self.ws.recv(timeout=5))).get("ext") != {"id": request_id}:
            self.backlog.append(message)
        return message

    def pushed(self, cmd: str) -> Any:
        while not (found := [m for m in self.backlog if m.get("cmd") == cmd]):
            self.backlog.append(json.loads(self.ws.recv(timeout=5)))
        self.backlog.remove(found[0])
        return found[0]["data"]


def close_code(ws: ClientConnection, *, timeout: float = 20.0) -> int | None:
    """Read until the server closes the connection; the code it closed with."""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(ConnectionClosed):
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                ws.recv(timeout=0.5)  # pings and stray pushes: keep reading
    return ws.close_code


def page(url: str) -> httpx.Response:
    with httpx.Client(timeout=10.0) as client:  # a new connection each time
        return client.get(url)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[WsServer]:
    created = appctl(tmp_path, "create:app", "chat", "--type", "ws")
    assert created.returncode == 0, created.stderr
    srv = WsServer(tmp_path / "chat", free_port())
    try:
        yield srv
    finally:
        srv.cleanup()


OLD = "        return frame\n"
NEW = '        return "reloaded: " + frame if isinstance(frame, str) else frame\n'


def test_start_chat_reload_with_1012_stop_with_1001(server: WsServer) -> None:
    started = server.start()
    assert started.returncode == 0, started.stderr
    assert "WebSocket server started on http://127.0.0.1:" in started.stdout
    home = page(server.url + "/")
    assert home.status_code == 200 and "/_swoop/client.js" in home.text

    with server.connect("/chat") as ws, server.connect("/echo") as echo:
        chat = Chat(ws)
        joined = chat.call("chat.join", {"room": "lobby", "name": "ada"})
        assert joined["data"] == {"room": "lobby", "members": ["ada"]}
        chat.call("chat.send", {"room": "lobby", "text": "before the reload"})
        message = chat.pushed("chat.message")
        assert (message["from"], message["text"]) == ("ada", "before the reload")
        echo.send("hello")
        assert echo.recv(timeout=5) == "hello"

        handler = server.app_dir / "app" / "websocket" / "echo.py"
        assert OLD in handler.read_text()
        handler.write_text(handler.read_text().replace(OLD, NEW))
        reloaded = server.run("reload")
        assert reloaded.returncode == 0, reloaded.stderr
        assert "reloaded 2 workers" in reloaded.stdout
        assert close_code(ws) == 1012  # "service restart": reconnect at once
        assert close_code(echo) == 1012

    with server.connect("/echo") as echo:  # a reconnect reaches a new worker
        echo.send("hello")
        assert echo.recv(timeout=5) == "reloaded: hello"
    with server.connect("/chat") as ws:
        chat = Chat(ws)
        chat.call("chat.join", {"room": "lobby", "name": "ada"})
        chat.call("chat.send", {"room": "lobby", "text": "after the reload"})
        assert chat.pushed("chat.message")["text"] == "after the reload"

        stopped = server.run("stop")
        assert stopped.returncode == 0, stopped.stderr
        assert close_code(ws) == 1001  # "going away"
    assert not server.pid_file.exists()
    assert not server.pid_file.with_suffix(".sock").exists()
    assert port_is_free(server.port)


def worker_connections(server: WsServer) -> list[int]:
    status = json.loads(server.run("status", "--json").stdout)
    return [int(row.get("connections") or 0) for row in status["rows"]]


def test_two_workers_share_rooms_through_the_masters_hub(server: WsServer) -> None:
    started = server.start()
    assert started.returncode == 0, started.stderr
    hub = server.app_dir / "runtime" / "ws-hub.sock"
    assert hub.exists()
    sockets: list[ClientConnection] = []
    with contextlib.ExitStack() as stack:
        # new connections land on whichever worker accepts first: open them one by one
        # until both workers hold some (the status counts them once a second)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(sockets) < 40:
            sockets.append(stack.enter_context(server.connect("/chat")))
            time.sleep(0.05)
            if len(sockets) % 4 == 0 and all(wait_for_counts(server, len(sockets))):
                break
        assert all(worker_connections(server)), "every connection went to one worker"
        chats = [Chat(ws) for ws in sockets]
        names = [f"user{i}" for i in range(len(chats))]
        for chat, name in zip(chats, names, strict=True):
            joined = chat.call("chat.join", {"room": "lobby", "name": name})
        assert sorted(joined["data"]["members"]) == sorted(names)  # presence spans workers
        chats[0].call("chat.send", {"room": "lobby", "text": "to everyone"})
        for chat in chats:
            assert chat.pushed("chat.message")["text"] == "to everyone"
    assert server.run("stop").returncode == 0
    assert not hub.exists()


def wait_for_counts(server: WsServer, expected: int) -> list[int]:
    """The per-worker connection counts once the status has caught up with ``expected``."""
    deadline = time.monotonic() + 3
    counts = worker_connections(server)
    while sum(counts) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        counts = worker_connections(server)
    return counts


def worker_pids(server: WsServer) -> list[int]:
    status = json.loads(server.run("status", "--json").stdout)
    return [int(row["pid"]) for row in status["rows"]]


def test_http_keeps_serving_across_reload_and_a_killed_worker_respawns(server: WsServer) -> None:
    assert server.start().returncode == 0
    with RequestLoop(server.url) as loop:  # the chat page, on the ws server's port
        wait_for(lambda: loop.ok > 20)
        handler = server.app_dir / "app" / "websocket" / "echo.py"
        handler.write_text(handler.read_text().replace(OLD, NEW))
        assert server.run("reload").returncode == 0
        seen = loop.ok
        wait_for(lambda: loop.ok > seen + 20)
    assert loop.failures == []
    with server.connect("/echo") as echo:
        echo.send("hi")
        assert echo.recv(timeout=5) == "reloaded: hi"

    before = worker_pids(server)
    os.kill(before[0], signal.SIGKILL)
    after = wait_for(lambda: len(p := worker_pids(server)) == 2 and before[0] not in p and p)
    assert before[1] in after
    assert all(page(server.url + "/").status_code == 200 for _ in range(5))
    assert all(str(pid) in server.run("status").stdout for pid in after)
    assert server.run("stop").returncode == 0
    assert not server.pid_file.exists()
    assert port_is_free(server.port)
