"""Binding end to end on both engines: path, query, headers, cookies, JSON and form bodies,
beans and the request scope; 422 with every bad field; 400, 413 and 415 for bad bodies, while
the server keeps answering other requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

import anyio
import httpx
import pydantic
import pytest

from framework import Application, bean
from framework.http import (
    Body,
    Cookie,
    FormData,
    Header,
    Query,
    Request,
    UploadFile,
    asgi_app,
    controller,
    get,
    post,
)
from framework.http.testclient import TestClient
from framework.testing.servers import open_raw, serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("swoop_leak_check")]

ENGINES = ["hypercorn", "uvicorn"]


@dataclass
class Address:
    city: str
    zip: str | None = None


@dataclass
class NewUser:
    name: str
    age: int
    address: Address
    tags: list[str] = field(default_factory=list)


class Filters(TypedDict):
    q: str
    limit: int


class Pet(pydantic.BaseModel):
    name: str
    legs: int = 4


@bean
class Greeter:
    def greet(self, name: str) -> str:
        return f"hello {name}"


@bean(scope="request")
class RequestCounter:
    instances = 0

    def __init__(self) -> None:
        RequestCounter.instances += 1
        self.id = RequestCounter.instances


@controller("/bind")
class BindController:
    def __init__(self, greeter: Greeter) -> None:
        self.greeter = greeter

    @get("/path/{id:int}/{slug}")
    async def path(self, id: int, slug: str) -> dict[str, Any]:
        return {"id": id, "slug": slug}

    @get("/query")
    async def query(
        self,
        limit: int,
        tags: Annotated[list[str], Query(alias="tag")],
        active: bool = True,
        name: str | None = None,
    ) -> dict[str, Any]:
        return {"limit": limit, "tags": tags, "active": active, "name": name}

    @get("/headers")
    async def headers(
        self,
        x_token: Annotated[str, Header()],
        session: Annotated[str, Cookie()],
        agent: Annotated[str, Header(alias="User-Agent")] = "?",
    ) -> dict[str, str]:
        return {"token": x_token, "session": session, "agent": agent}

    @post("/users", status_code=201)
    async def create(self, user: NewUser) -> NewUser:
        return user

    @post("/typed")
    async def typed(self, filters: Filters) -> Filters:
        return filters

    @post("/pets")
    async def pet(self, pet: Pet) -> Pet:
        return pet

    @post("/embedded")
    async def embedded(
        self, name: Annotated[str, Body()], count: Annotated[int, Body()] = 1
    ) -> dict[str, Any]:
        return {"name": name, "count": count}

    @get("/search")
    async def search(self, filters: Annotated[Filters, Query()]) -> Filters:
        return filters

    @post("/upload")
    async def upload(self, request: Request) -> dict[str, Any]:
        form: FormData = await request.form()
        upload = form["file"]
        assert isinstance(upload, UploadFile)
        return {"title": form["title"], "file": upload.filename, "size": upload.size}

    @post("/raw")
    async def raw(self, data: Annotated[bytes, Body()]) -> dict[str, int]:
        return {"size": len(data)}

    @get("/bean/{name}")
    def bean(
        self, name: str, greeter: Greeter, counter: RequestCounter, again: RequestCounter
    ) -> dict[str, Any]:
        return {"greeting": greeter.greet(name), "same": counter is again, "id": counter.id}

    @post("/echo")
    async def echo(self, request: Request) -> dict[str, Any]:
        return {"json": await request.json(), "method": request.method, "path": request.path}


@pytest.fixture(params=ENGINES)
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    app = Application.from_classes(
        BindController,
        Greeter,
        RequestCounter,
        config={"http": {"max_body_size": 1000}},
    )
    async with (
        serve_asgi(asgi_app(app), engine=request.param) as url,
        httpx.AsyncClient(base_url=url) as c,
    ):
        yield c


async def test_path_and_query(client: httpx.AsyncClient) -> None:
    assert (await client.get("/bind/path/3/x-y")).json() == {"id": 3, "slug": "x-y"}
    response = await client.get(
        "/bind/query", params={"limit": "5", "tag": ["a", "b"], "active": "no"}
    )
    assert response.json() == {"limit": 5, "tags": ["a", "b"], "active": False, "name": None}


async def test_headers_and_cookies(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/bind/headers",
        headers={"X-Token": "t0k", "User-Agent": "ua/1", "Cookie": "session=abc; other=1"},
    )
    assert response.json() == {"token": "t0k", "session": "abc", "agent": "ua/1"}


async def test_422_lists_every_bad_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/bind/query", params={"limit": "many", "active": "perhaps"})
    assert response.status_code == 422
    assert response.json() == {
        "code": 422,
        "message": "request validation failed",
        "errors": [
            {"loc": ["query", "limit"], "message": "expected an integer, got 'many'"},
            {"loc": ["query", "tag"], "message": "field required"},
            {"loc": ["query", "active"], "message": "expected true or false, got 'perhaps'"},
        ],
    }
    missing = await client.get("/bind/headers")
    assert [e["loc"] for e in missing.json()["errors"]] == [
        ["header", "x-token"],
        ["cookie", "session"],
    ]


async def test_json_bodies(client: httpx.AsyncClient) -> None:
    user = {"name": "Ada", "age": 36, "address": {"city": "London"}, "tags": ["math"]}
    response = await client.post("/bind/users", json=user)
    assert response.status_code == 201
    assert response.json() == {**user, "address": {"city": "London", "zip": None}}
    bad = await client.post("/bind/users", json={"name": "Ada", "age": "old", "address": {}})
    assert bad.status_code == 422
    assert [(e["loc"], e["message"]) for e in bad.json()["errors"]] == [
        (["body", "age"], "expected an integer, got 'old'"),
        (["body", "address", "city"], "field required"),
    ]
    assert (await client.post("/bind/typed", json={"q": "x", "limit": 2})).json() == {
        "q": "x",
        "limit": 2,
    }
    assert (await client.post("/bind/pets", json={"name": "Rex"})).json() == {
        "name": "Rex",
        "legs": 4,
    }
    pet = await client.post("/bind/pets", json={"legs": "many"})
    assert [e["loc"] for e in pet.json()["errors"]] == [["body", "name"], ["body", "legs"]]
    embedded = await client.post("/bind/embedded", json={"name": "n"})
    assert embedded.json() == {"name": "n", "count": 1}


async def test_form_bodies(client: httpx.AsyncClient) -> None:
    form = {"name": "Ada", "age": "36", "address": "ignored"}
    response = await client.post("/bind/embedded", data={"name": "x", "count": "4"})
    assert response.json() == {"name": "x", "count": 4}
    response = await client.post("/bind/users", data=form)
    assert response.status_code == 422  # a flat form cannot fill a nested dataclass
    assert response.json()["errors"][0]["loc"] == ["body", "address"]
    upload = await client.post(
        "/bind/upload",
        data={"title": "report"},
        files={"file": ("r.bin", b"\x00\x01\r\n\xff" * 10, "application/octet-stream")},
    )
    assert upload.json() == {"title": "report", "file": "r.bin", "size": 50}


async def test_query_model_and_raw_body(client: httpx.AsyncClient) -> None:
    assert (await client.get("/bind/search?q=x&limit=3")).json() == {"q": "x", "limit": 3}
    raw = await client.post(
        "/bind/raw", content=b"\x00" * 10, headers={"content-type": "image/png"}
    )
    assert raw.json() == {"size": 10}


async def test_beans_and_request_scope(client: httpx.AsyncClient) -> None:
    first = (await client.get("/bind/bean/ada")).json()
    second = (await client.get("/bind/bean/bob")).json()
    assert first["greeting"] == "hello ada" and first["same"] is True
    assert second["id"] != first["id"]  # a new request bean per request


async def test_bad_bodies_and_the_server_keeps_serving(client: httpx.AsyncClient) -> None:
    bad_json = await client.post(
        "/bind/users", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["message"].startswith("request body is not valid JSON: ")
    wrong_type = await client.post(
        "/bind/users", content=b"x", headers={"content-type": "text/csv"}
    )
    assert wrong_type.status_code == 415
    too_big = await client.post("/bind/users", json={"name": "x" * 2000})
    assert too_big.status_code == 413
    assert too_big.json() == {
        "code": 413,
        "message": "request body is larger than the limit of 1000 bytes",
    }

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b" " * 300

    chunked = await client.post(
        "/bind/users", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    bad_form = await client.post(
        "/bind/upload", content=b"--x\r\n", headers={"content-type": "multipart/form-data"}
    )
    assert bad_form.status_code == 400
    assert (await client.get("/bind/path/1/ok")).status_code == 200


async def test_an_oversized_body_is_refused_before_a_handler_that_never_reads_it(
    client: httpx.AsyncClient,
) -> None:
    ignored = await client.request("GET", "/bind/path/1/ok", content=b"x" * 2000)
    assert ignored.status_code == 413
    assert ignored.json()["message"] == "request body is larger than the limit of 1000 bytes"
    assert (await client.request("GET", "/bind/path/1/ok", content=b"x" * 10)).status_code == 200


async def test_request_object(client: httpx.AsyncClient) -> None:
    response = await client.post("/bind/echo", json={"a": [1]})
    assert response.json() == {"json": {"a": [1]}, "method": "POST", "path": "/bind/echo"}


async def test_malformed_http_is_answered(client: httpx.AsyncClient) -> None:
    async with await open_raw(str(client.base_url)) as stream:
        await stream.send(b"GARBAGE\r\n\r\n")
        with anyio.fail_after(10):
            try:
                reply = await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                reply = b""
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4")
    assert (await client.get("/bind/path/1/ok")).status_code == 200


@bean(scope="request")
@controller("/per-request")
class PerRequestController:
    created = 0

    def __init__(self) -> None:
        PerRequestController.created += 1
        self.number = PerRequestController.created

    @get("/")
    async def show(self) -> dict[str, int]:
        return {"number": self.number}


@controller("/per-call")
@bean(scope="prototype")
class PrototypeController:
    @get("/")
    def show(self) -> dict[str, int]:
        return {"id": id(self)}


async def test_request_and_prototype_controllers_in_either_decorator_order() -> None:
    app = Application.from_classes(PerRequestController, PrototypeController)
    async with TestClient(app) as client:
        first = (await client.get("/per-request")).json()["number"]
        assert (await client.get("/per-request")).json()["number"] == first + 1
        assert (await client.get("/per-call")).status_code == 200
