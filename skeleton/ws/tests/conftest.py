"""Fixtures: the app booted from this directory, an in-process HTTP client, and the app on a
real port with WebSocket clients for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from itertools import count
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from framework import Application
from framework.http.testclient import TestClient
from framework.server import EngineOptions
from framework.testing import serve_asgi
from framework.websocket import ws_asgi_app

APP_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_leaks(swoop_leak_check: None) -> None:
    """Fail a test that leaves a server, a process or a thread running (Swoop's plugin)."""


@pytest.fixture
def app() -> Application:
    return Application.boot(app_dir=APP_DIR)


@pytest.fixture
async def client(app: Application) -> AsyncIterator[httpx.AsyncClient]:
    async with TestClient(app) as client:
        yield client


@pytest.fixture
async def server(app: Application) -> AsyncIterator[str]:
    """The app served on 127.0.0.1 and a free port (HTTP and WebSocket): its base URL."""
    async with serve_asgi(ws_asgi_app(app), options=EngineOptions(graceful_timeout=1.0)) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the real server, to push into the rooms its WebSockets are in."""
    async with httpx.AsyncClient(base_url=server, timeout=5.0) as http:
        yield http


class WsClient:
    """A WebSocket client speaking the JSON parser's protocol.

    ``call`` waits for the reply to its own request; pushes arriving meanwhile are kept
    for ``pushed``. Every wait fails after 5 seconds instead of hanging the test.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.backlog: list[dict[str, Any]] = []
        self._ids = count(1)

    async def call(self, cmd: str, data: Any = None) -> dict[str, Any]:
        """Send a request; return the reply: ``{"cmd", "data"}`` or ``{"cmd", "error"}``."""
        request_id = next(self._ids)
        await self.ws.send(json.dumps({"cmd": cmd, "data": data, "ext": {"id": request_id}}))
        while True:
            message = await self.receive()
            if message.get("ext") == {"id": request_id}:
                return message
            self.backlog.append(message)

    async def pushed(self, cmd: str) -> Any:
        """The data of the next push of ``cmd``."""
        for message in self.backlog:
            if message.get("cmd") == cmd:
                self.backlog.remove(message)
                return message.get("data")
        while True:
            message = await self.receive()
            if message.get("cmd") == cmd and "ext" not in message:
                return message.get("data")
            self.backlog.append(message)

    async def nothing_arrives(self, seconds: float = 0.3) -> bool:
        """Whether no message arrives (or waits in the backlog) for ``seconds``."""
        if self.backlog:
            return False
        with anyio.move_on_after(seconds):
            self.backlog.append(json.loads(await self.ws.recv()))
            return False
        return True

    async def receive(self) -> dict[str, Any]:
        with anyio.fail_after(5):
            message: dict[str, Any] = json.loads(await self.ws.recv())
        return message


Connect = Callable[..., Awaitable[WsClient]]


@pytest.fixture
async def ws(server: str) -> AsyncIterator[Connect]:
    """Opens WebSocket clients on the server (``await ws("/chat")``); all closed at the end."""
    base = server.replace("http://", "ws://", 1)
    async with AsyncExitStack() as opened:

        async def open_client(path: str = "/chat") -> WsClient:
            return WsClient(await opened.enter_async_context(connect(base + path)))

        yield open_client
