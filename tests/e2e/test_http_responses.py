"""Every kind of return value and response class, on both engines."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from framework import Application, bean
from framework.http import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
    asgi_app,
    controller,
    delete,
    get,
    post,
)
from framework.http.testclient import TestClient
from framework.testing.servers import serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("swoop_leak_check")]

ENGINES = ["hypercorn", "uvicorn"]


@dataclass
class Point:
    x: int
    y: int


@bean
class Files:
    path: Path = Path()


@controller("/r")
class ResponseController:
    def __init__(self, files: Files) -> None:
        self.files = files

    @get("/dict")
    async def as_dict(self) -> dict[str, Any]:
        return {"a": 1, "nested": {"b": [1, 2]}}

    @get("/list")
    async def as_list(self) -> list[int]:
        return [1, 2, 3]

    @get("/dataclass")
    async def as_dataclass(self) -> Point:
        return Point(1, 2)

    @get("/text")
    async def as_text(self) -> str:
        return "héllo"

    @get("/bytes")
    async def as_bytes(self) -> bytes:
        return b"\x00\x01"

    @delete("/none")
    async def as_none(self) -> None:
        return None

    @post("/created", status_code=201, headers={"X-Kind": "created"})
    async def created(self) -> dict[str, bool]:
        return {"created": True}

    @get("/tuple")
    async def as_tuple(self) -> tuple[dict[str, str], int, dict[str, str]]:
        return {"queued": "yes"}, 202, {"X-Queue": "q1"}

    @get("/tuple2")
    async def as_tuple2(self) -> tuple[str, int]:
        return "teapot", 418

    @get("/response")
    async def response(self) -> Response:
        response = Response(b"raw", status_code=203, media_type="application/x-thing")
        response.set_cookie("sid", "s 1", httponly=True)
        return response

    @get("/json")
    async def json(self) -> JSONResponse:
        return JSONResponse({"ok": True}, status_code=200, headers={"Cache-Control": "no-store"})

    @get("/html")
    async def html(self) -> HTMLResponse:
        return HTMLResponse("<p>hi</p>")

    @get("/plain")
    def plain(self) -> PlainTextResponse:
        return PlainTextResponse("plain")

    @get("/redirect")
    async def redirect(self) -> RedirectResponse:
        return RedirectResponse("/r/dict", status_code=302)

    @get("/stream")
    async def stream(self) -> StreamingResponse:
        async def numbers() -> AsyncIterator[str]:
            for i in range(5):
                yield f"{i}\n"

        return StreamingResponse(numbers(), media_type="text/plain")

    @get("/stream-sync")
    def stream_sync(self) -> StreamingResponse:
        def blocks() -> Iterator[bytes]:
            yield b"a" * 70_000
            yield b"b"

        return StreamingResponse(blocks(), media_type="application/octet-stream")

    @get("/file")
    async def file(self) -> FileResponse:
        return FileResponse(self.files.path, filename="report.txt")

    @get("/missing-file")
    async def missing_file(self) -> FileResponse:
        return FileResponse(self.files.path.with_name("nope"))

    @get("/big")
    async def big(self) -> str:
        return "x" * 5000

    @get("/unrenderable")
    async def unrenderable(self) -> object:
        return object()


@pytest.fixture
def app(tmp_path: Path) -> Application:
    data = tmp_path / "report.txt"
    data.write_bytes(b"line\n" * 30_000)
    files = Files()
    files.path = data
    return Application.from_classes(
        ResponseController,
        Files,
        config={"http": {"middlewares": ["framework.http:GZipMiddleware"]}},
        overrides={Files: files},
    )


@pytest.fixture(params=ENGINES)
async def client(
    request: pytest.FixtureRequest, app: Application
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serve_asgi(asgi_app(app), engine=request.param) as url,
        httpx.AsyncClient(base_url=url) as c,
    ):
        yield c


async def test_rendered_values(client: httpx.AsyncClient) -> None:
    response = await client.get("/r/dict")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"a": 1, "nested": {"b": [1, 2]}}
    assert (await client.get("/r/list")).json() == [1, 2, 3]
    assert (await client.get("/r/dataclass")).json() == {"x": 1, "y": 2}
    text = await client.get("/r/text")
    assert text.text == "héllo" and text.headers["content-type"] == "text/plain; charset=utf-8"
    raw = await client.get("/r/bytes")
    assert raw.content == b"\x00\x01"
    assert raw.headers["content-type"] == "application/octet-stream"
    none = await client.delete("/r/none")
    assert none.status_code == 204 and none.content == b""


async def test_status_and_headers(client: httpx.AsyncClient) -> None:
    created = await client.post("/r/created")
    assert created.status_code == 201 and created.headers["x-kind"] == "created"
    queued = await client.get("/r/tuple")
    assert (queued.status_code, queued.headers["x-queue"], queued.json()) == (
        202,
        "q1",
        {"queued": "yes"},
    )
    teapot = await client.get("/r/tuple2")
    assert (teapot.status_code, teapot.text) == (418, "teapot")


async def test_response_classes(client: httpx.AsyncClient) -> None:
    raw = await client.get("/r/response")
    assert (raw.status_code, raw.content, raw.headers["content-type"]) == (
        203,
        b"raw",
        "application/x-thing",
    )
    assert raw.headers["set-cookie"] == "sid=s%201; Path=/; HttpOnly; SameSite=Lax"
    json = await client.get("/r/json")
    assert json.json() == {"ok": True} and json.headers["cache-control"] == "no-store"
    html = await client.get("/r/html")
    assert html.headers["content-type"] == "text/html; charset=utf-8" and html.text == "<p>hi</p>"
    assert (await client.get("/r/plain")).text == "plain"
    redirect = await client.get("/r/redirect")
    assert redirect.status_code == 302 and redirect.headers["location"] == "/r/dict"


async def test_streaming(client: httpx.AsyncClient) -> None:
    response = await client.get("/r/stream")
    assert response.text == "0\n1\n2\n3\n4\n"
    assert "content-length" not in response.headers
    sync = await client.get("/r/stream-sync")
    assert len(sync.content) == 70_001


async def test_file(client: httpx.AsyncClient) -> None:
    response = await client.get("/r/file")
    assert response.content == b"line\n" * 30_000
    assert response.headers["content-length"] == str(150_000)
    assert response.headers["content-disposition"] == "attachment; filename*=utf-8''report.txt"
    etag = response.headers["etag"]
    assert etag.startswith('"')
    head = await client.head("/r/file")
    assert head.content == b"" and head.headers["content-length"] == "150000"
    assert (await client.get("/r/missing-file")).status_code == 404


async def test_gzip(client: httpx.AsyncClient) -> None:
    big = await client.get("/r/big", headers={"Accept-Encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert big.text == "x" * 5000  # httpx decodes
    assert int(big.headers["content-length"]) < 5000
    small = await client.get("/r/text", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
    plain = await client.get("/r/big", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    stream = await client.get("/r/stream-sync", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in stream.headers
    assert gzip.decompress(gzip.compress(b"x")) == b"x"


async def test_unrenderable_value_is_a_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/r/unrenderable")
    assert response.status_code == 500
    assert response.json() == {"code": 500, "message": "Internal Server Error"}
    assert (await client.get("/r/dict")).status_code == 200


async def test_in_process_test_client_runs_lifespan(app: Application) -> None:
    assert not app.started
    async with TestClient(app) as client:
        assert app.started
        assert (await client.get("/r/dict")).json()["a"] == 1
    assert not app.started
