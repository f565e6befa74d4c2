"""``HttpApp.swoop_entry``: what Swoop's engines call instead of ``__call__``.

It must answer every scope exactly as ``__call__`` does; for a static route it hands back
the route's own coroutine (one coroutine less per request).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from framework import Application
from framework.http import Request, Response, asgi_app, controller, get, middleware
from framework.http.asgi import HttpApp
from framework.http.middleware import CallNext
from framework.server.engine import entry_of


class Stamp:
    async def process(self, request: Request, call_next: CallNext) -> Response:
        response = await call_next(request)
        response.headers["x-stamp"] = "1"
        return response


@controller("/")
class Pages:
    @get("/")
    async def home(self) -> dict[str, str]:
        return {"page": "home"}

    @get("/items/{id:int}")
    async def item(self, id: int) -> dict[str, int]:
        return {"id": id}

    @get("/stamped")
    @middleware(Stamp)
    async def stamped(self) -> str:
        return "stamped"


def _scope(path: str, method: str = "GET", root_path: str = "") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": root_path,
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


async def _answer(call: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await call(scope, receive, send)
    return sent


@pytest.fixture
def http() -> HttpApp:
    app = asgi_app(Application.from_classes(Stamp, Pages))
    assert isinstance(app, HttpApp)
    return app


@pytest.mark.parametrize(
    ("path", "method", "root_path"),
    [
        ("/", "GET", ""),  # static route
        ("/", "HEAD", ""),  # the automatic HEAD of a static route
        ("/stamped", "GET", ""),  # static route behind a middleware
        ("/items/7", "GET", ""),  # dynamic route
        ("/items/x", "GET", ""),  # converter mismatch: 404
        ("/", "POST", ""),  # 405 with Allow
        ("/nowhere", "GET", ""),  # 404
        ("/api/", "GET", "/api"),  # under a proxy prefix
    ],
)
def test_swoop_entry_answers_like_call(
    http: HttpApp, path: str, method: str, root_path: str
) -> None:
    entry = entry_of(http)
    assert entry == http.swoop_entry
    by_call = asyncio.run(_answer(http, _scope(path, method, root_path)))
    by_entry = asyncio.run(_answer(entry, _scope(path, method, root_path)))
    assert by_entry == by_call
    assert by_call[0]["type"] == "http.response.start"


def test_swoop_entry_returns_the_static_route_coroutine(http: HttpApp) -> None:
    awaitable = http.swoop_entry(_scope("/"), None, None)
    try:
        assert awaitable.cr_code.co_name == "run"  # type: ignore[attr-defined]
    finally:
        awaitable.close()  # type: ignore[attr-defined]


def test_swoop_entry_runs_lifespan_through_call(http: HttpApp) -> None:
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return next(events)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(http.swoop_entry({"type": "lifespan"}, receive, send))  # type: ignore[arg-type]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert http.application.started is False
