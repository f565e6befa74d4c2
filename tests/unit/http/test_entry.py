"""``HttpApp.swoop_entry``: what Swoop's engines call instead of ``__call__``.

It must answer every scope as ``__call__`` does (which awaits it); for a route it hands back
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
    ("path", "method", "root_path", "status", "body"),
    [
        ("/", "GET", "", 200, b'{"page":"home"}'),  # static route
        ("/", "HEAD", "", 200, b""),  # the automatic HEAD of a static route
        ("/stamped", "GET", "", 200, b"stamped"),  # static route behind a middleware
        ("/items/7", "GET", "", 200, b'{"id":7}'),  # dynamic route
        ("/items/x", "GET", "", 404, None),  # converter mismatch
        ("/", "POST", "", 405, None),
        ("/nowhere", "GET", "", 404, None),
        ("/api/", "GET", "/api", 200, b'{"page":"home"}'),  # under a proxy prefix
    ],
)
def test_swoop_entry_answers_like_call(
    http: HttpApp, path: str, method: str, root_path: str, status: int, body: bytes | None
) -> None:
    entry = entry_of(http)
    assert entry == http.swoop_entry
    by_call = asyncio.run(_answer(http, _scope(path, method, root_path)))
    by_entry = asyncio.run(_answer(entry, _scope(path, method, root_path)))
    assert by_entry == by_call
    assert by_call[0]["type"] == "http.response.start" and by_call[0]["status"] == status
    if body is not None:
        assert b"".join(m.get("body", b"") for m in by_call[1:]) == body
    if path == "/stamped":
        assert (b"x-stamp", b"1") in by_call[0]["headers"]
    if status == 405:
        assert (b"allow", b"GET, HEAD, OPTIONS") in by_call[0]["headers"]


@pytest.mark.parametrize("path", ["/", "/items/7", "/nowhere"])
def test_swoop_entry_returns_the_endpoint_coroutine(http: HttpApp, path: str) -> None:
    awaitable = http.swoop_entry(_scope(path), None, None)
    try:
        assert awaitable.cr_code.co_name == "run"  # type: ignore[attr-defined]
    finally:
        awaitable.close()  # type: ignore[attr-defined]


def test_swoop_entry_refuses_an_unknown_scope_type(http: HttpApp) -> None:
    with pytest.raises(ValueError, match="unsupported ASGI scope type 'mqtt'"):
        http.swoop_entry({"type": "mqtt"}, None, None)


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
