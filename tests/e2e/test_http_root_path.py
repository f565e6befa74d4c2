"""An app served below a prefix (ASGI ``root_path``) on both engines: routes, the
trailing-slash redirect, static files, ``url_for``, OpenAPI ``servers``, and paths outside
the prefix; plus both ASGI conventions (``path`` with and without ``root_path``) in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework import Application
from framework.http import Request, asgi_app, controller, get, url_for
from framework.http.patterns import parse_pattern
from framework.http.routing import Route, Router, route_path
from framework.server import EngineOptions
from framework.testing.servers import serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("swoop_leak_check")]

ENGINES = ["hypercorn", "uvicorn"]
ROOT = "/api"


@controller("/users")
class UserController:
    @get("/")
    async def index(self) -> list[int]:
        return [7]

    @get("/{id:int}")
    async def show(self, id: int, request: Request) -> dict[str, Any]:
        return {"id": id, "path": request.path, "url": request.url}


@controller("/")
class HomeController:
    @get("/")
    async def home(self) -> str:
        return "home"


@pytest.fixture
def app(tmp_path: Path) -> Application:
    (tmp_path / "site.css").write_text("body{}")
    return Application.from_classes(
        UserController,
        HomeController,
        config={"server": {"root_path": ROOT}, "http": {"static_dir": str(tmp_path)}},
    )


@pytest.fixture(params=ENGINES)
async def client(
    request: pytest.FixtureRequest, app: Application
) -> AsyncIterator[httpx.AsyncClient]:
    # what a proxy mapping https://site/api/... to this server sends: the path without /api
    options = EngineOptions(root_path=ROOT)
    async with (
        serve_asgi(asgi_app(app), engine=request.param, options=options) as url,
        httpx.AsyncClient(base_url=url) as c,
    ):
        yield c


async def test_routes_match_below_the_prefix(client: httpx.AsyncClient) -> None:
    shown = await client.get("/users/7")
    assert shown.status_code == 200
    body = shown.json()
    # both engines: the request sees the path the client used, prefix included
    assert (body["id"], body["path"]) == (7, "/api/users/7")
    assert body["url"].endswith("/api/users/7")
    assert (await client.get("/users")).json() == [7]
    assert (await client.get("/")).text == "home"
    assert (await client.get("/site.css")).text == "body{}"


async def test_trailing_slash_redirect_keeps_the_prefix(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/7/?x=1")
    assert response.status_code == 308
    assert response.headers["location"] == "/api/users/7?x=1"


async def test_openapi_servers(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["servers"] == [{"url": "/api"}]
    assert "/users/{id}" in document["paths"]


async def test_path_outside_the_prefix(client: httpx.AsyncClient) -> None:
    # /apiary is not below /api: it is not stripped, and no route has it
    assert (await client.get("/apiary/users/7")).status_code == 404
    assert (await client.get("/users/x")).status_code == 404


def test_url_for_prepends_the_root_path(app: Application) -> None:
    assert url_for(app, "UserController.show", id=7) == "/api/users/7"


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/users/7", "/api/users/7"),  # hypercorn, httpx: the path without the prefix
        ("/api/users/7", "/api/users/7"),  # asgiref 3 / uvicorn >= 0.26: with it
    ],
)
async def test_both_asgi_conventions(app: Application, target: str, path: str) -> None:
    transport = httpx.ASGITransport(app=asgi_app(app), root_path=ROOT)
    await app.startup()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            body = (await client.get(target)).json()
            assert (body["id"], body["path"], body["url"]) == (7, path, "http://proxy" + path)
            redirect = await client.get(target + "/")
            assert redirect.headers["location"] == path
    finally:
        await app.shutdown()


async def test_a_root_path_of_slash_is_no_prefix(app: Application) -> None:
    transport = httpx.ASGITransport(app=asgi_app(app), root_path="/")
    await app.startup()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            assert (await client.get("/users/7")).json()["path"] == "/users/7"
    finally:
        await app.shutdown()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/users", "/users"),
        ("/api", "/"),
        ("/api/", "/"),
        ("/users", "/users"),
        ("/apiary", "/apiary"),
        ("/", "/"),
    ],
)
def test_route_path(path: str, expected: str) -> None:
    assert route_path(path, "/api") == expected


segment = st.text(st.characters(blacklist_characters="/"), min_size=1, max_size=8)
paths = st.lists(segment, max_size=4).map(lambda parts: "/" + "/".join(parts))


@given(root=paths.filter(lambda p: p != "/"), path=paths)
def test_route_path_strips_exactly_the_prefix(root: str, path: str) -> None:
    assert route_path(root + path, root) == path
    routed = route_path(path, root)
    assert routed == path or root + routed == path or (routed == "/" and path == root)


def test_router_url_for_encodes_the_root_path() -> None:
    route = Route(parse_pattern("/users/{id:int}"), ("GET",), None, "show")
    router: Router[None] = Router([route], root_path="/my api/")
    assert router.url_for("show", id=3) == "/my%20api/users/3"
    assert Router([route]).url_for("show", id=3) == "/users/3"


@pytest.mark.parametrize("engine", ENGINES)
async def test_websocket_modules_route_below_the_prefix(engine: str) -> None:
    from websockets.asyncio.client import connect

    from framework.websocket import WebSocketExtension, on_message, ws_asgi_app, ws_module

    @ws_module("/echo", parser="raw")
    class Echo:
        @on_message
        async def echo(self, data: str) -> str:
            return data

    app = Application.from_classes(
        Echo, config={"server": {"root_path": ROOT}}, extensions=[WebSocketExtension()]
    )
    options = EngineOptions(root_path=ROOT)
    async with serve_asgi(ws_asgi_app(app), engine=engine, options=options) as url:
        ws_url = url.replace("http://", "ws://")
        async with connect(f"{ws_url}/echo") as ws:
            await ws.send("hi")
            assert await ws.recv() == "hi"
        async with httpx.AsyncClient(base_url=url) as http:
            # client.js is found below the prefix too
            assert (await http.get("/_swoop/client.js")).status_code == 200
