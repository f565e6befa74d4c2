"""Routing end to end on both engines: converters, specificity, 404/405, HEAD/OPTIONS,
the trailing-slash redirect, static files and path traversal attempts (over raw sockets,
since httpx normalises such paths)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from framework import Application
from framework.http import (
    DuplicateRouteError,
    RouteError,
    asgi_app,
    controller,
    get,
    put,
    request_mapping,
    url_for,
)
from framework.testing.servers import raw_http_request, serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("swoop_leak_check")]

ENGINES = ["hypercorn", "uvicorn"]


@controller("/users")
class UserController:
    @get("/{id:int}")
    async def show(self, id: int) -> dict[str, Any]:
        return {"by": "id", "id": id}

    @get("/{name}")
    async def by_name(self, name: str) -> dict[str, Any]:
        return {"by": "name", "name": name}

    @get("/me")
    async def me(self) -> dict[str, str]:
        return {"by": "static"}

    @put("/{id:int}")
    async def update(self, id: int) -> dict[str, Any]:
        return {"updated": id}

    @get("/files/{rest:path}")
    async def file(self, rest: str) -> dict[str, str]:
        return {"rest": rest}

    @get("/things/{u:uuid}")
    async def thing(self, u: uuid.UUID) -> dict[str, str]:
        return {"uuid": str(u), "type": type(u).__name__}

    @get("/price/{p:float}")
    async def price(self, p: float) -> dict[str, float]:
        return {"p": p}

    @get("/code/{code}", params={"code": r"[A-Z]{3}"}, name="code")
    async def code(self, code: str) -> dict[str, str]:
        return {"code": code}

    @request_mapping("/multi", methods=["GET", "POST"])
    async def multi(self) -> str:
        return "multi"

    @get()
    def index(self) -> str:
        return "index (path from the method name)"


@controller
class HealthController:
    @get("/")
    def health(self) -> str:
        return "ok"


@pytest.fixture
def public(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "css").mkdir(parents=True)
    (root / "css" / "site.css").write_text("body{color:red}")
    (root / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "secret.txt").write_text("top secret")
    os.symlink(tmp_path / "secret.txt", root / "leak.txt")
    return root


@pytest.fixture
def app(public: Path) -> Application:
    return Application.from_classes(
        UserController,
        HealthController,
        config={"http": {"static_dir": str(public)}},
    )


@pytest.fixture(params=ENGINES)
async def url(request: pytest.FixtureRequest, app: Application) -> AsyncIterator[str]:
    async with serve_asgi(asgi_app(app), engine=request.param) as base:
        yield base


@pytest.fixture
async def client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url) as c:
        yield c


async def test_converters_and_specificity(client: httpx.AsyncClient) -> None:
    assert (await client.get("/users/7")).json() == {"by": "id", "id": 7}
    assert (await client.get("/users/ada")).json() == {"by": "name", "name": "ada"}
    assert (await client.get("/users/me")).json() == {"by": "static"}
    assert (await client.get("/users/files/a/b/c.txt")).json() == {"rest": "a/b/c.txt"}
    u = uuid.uuid4()
    assert (await client.get(f"/users/things/{u}")).json() == {"uuid": str(u), "type": "UUID"}
    assert (await client.get("/users/price/2.5")).json() == {"p": 2.5}
    assert (await client.get("/users/code/ABC")).json() == {"code": "ABC"}
    assert (await client.get("/users/code/abcd")).status_code == 404
    assert (await client.get("/users/index")).text == "index (path from the method name)"
    assert (await client.get("/health")).text == "ok"
    assert (await client.get("/users/caf%C3%A9")).json() == {"by": "name", "name": "café"}


async def test_methods(client: httpx.AsyncClient) -> None:
    assert (await client.put("/users/3")).json() == {"updated": 3}
    assert (await client.post("/users/multi")).text == "multi"
    response = await client.delete("/users/3")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, PUT"
    assert response.json() == {"code": 405, "message": "Method Not Allowed"}
    assert (await client.post("/users/ada")).status_code == 405


async def test_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not Found"}
    head = await client.head("/nowhere")
    assert head.status_code == 404 and head.content == b""


async def test_head_and_options(client: httpx.AsyncClient) -> None:
    get_response = await client.get("/users/7")
    head = await client.head("/users/7")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get_response.headers["content-length"]
    assert head.headers["content-type"] == "application/json"
    options = await client.options("/users/7")
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, HEAD, OPTIONS, PUT"


async def test_trailing_slash_redirects(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me/?x=1")
    assert response.status_code == 308
    assert response.headers["location"] == "/users/me?x=1"
    followed = await client.get("/users/me/", follow_redirects=True)
    assert followed.json() == {"by": "static"}


async def test_redirect_never_leaves_the_site(url: str) -> None:
    status, _ = await raw_http_request(url, "//evil.example/")
    assert status in (308, 404)
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/users//evil.example/")
    assert not response.headers.get("location", "/").startswith("//")


async def test_static_files(client: httpx.AsyncClient) -> None:
    css = await client.get("/css/site.css")
    assert css.status_code == 200 and css.text == "body{color:red}"
    assert css.headers["content-type"].startswith("text/css")
    assert (await client.get("/")).text == "<h1>home</h1>"
    assert (await client.head("/css/site.css")).content == b""
    assert (await client.post("/css/site.css")).status_code == 404


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/css/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/css/%2E%2E/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/leak.txt",
        "/css/..%5c..%5csecret.txt",
        "/%00",
    ],
)
async def test_traversal_attempts_are_404(url: str, target: str) -> None:
    status, body = await raw_http_request(url, target)
    assert status in (400, 404)
    assert b"top secret" not in body


async def test_absolute_form_target_does_not_escape(url: str, public: Path) -> None:
    secret = public.parent / "secret.txt"
    status, body = await raw_http_request(url, str(secret))
    assert status in (400, 404) and b"top secret" not in body


def test_url_for(app: Application) -> None:
    assert url_for(app, "UserController.show", id=5) == "/users/5"
    assert url_for(app, "code", code="XYZ") == "/users/code/XYZ"
    with pytest.raises(ValueError):
        url_for(app, "code", code="xyz")


def test_duplicate_routes_fail_at_boot() -> None:
    @controller("/users")
    class Other:
        @get("/{user_id:int}")
        async def clash(self, user_id: int) -> None: ...

    with pytest.raises(DuplicateRouteError) as info:
        Application.from_classes(UserController, Other)
    message = str(info.value)
    assert "duplicate route GET /users/{user_id:int}" in message
    assert "UserController.show (tests/e2e/test_http_routing.py:" in message
    assert "Other.clash (tests/e2e/test_http_routing.py:" in message


def test_bad_pattern_fails_at_boot_with_location() -> None:
    @controller("/x")
    class Bad:
        @get("/{id:number}")
        async def show(self, id: int) -> None: ...

    with pytest.raises(RouteError, match=r"unknown converter 'number'(.|\n)*test_http_routing.py:"):
        Application.from_classes(Bad)
