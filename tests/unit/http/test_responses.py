"""Responses and the rendering of return values."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import orjson
import pydantic
import pytest

from framework.http import (
    FileResponse,
    HTMLResponse,
    HTTPException,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from framework.http.responses import Renderer, dumps

pytestmark = pytest.mark.anyio


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Model(pydantic.BaseModel):
    name: str


async def sent(response: Response, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await response({"type": "http", "method": method}, None, send)
    start, *bodies = messages
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert not bodies[-1].get("more_body", False)
    return start["status"], headers, b"".join(m["body"] for m in bodies)


@pytest.mark.parametrize(
    ("value", "status", "content_type", "body"),
    [
        ({"a": 1}, 200, "application/json", b'{"a":1}'),
        ([1, 2], 200, "application/json", b"[1,2]"),
        (Point(1, 2), 200, "application/json", b'{"x":1,"y":2}'),
        (Model(name="m"), 200, "application/json", b'{"name":"m"}'),
        (3, 200, "application/json", b"3"),
        ("hé", 200, "text/plain; charset=utf-8", "hé".encode()),
        (b"\x00", 200, "application/octet-stream", b"\x00"),
        (None, 204, None, b""),
        (({"a": 1}, 201), 201, "application/json", b'{"a":1}'),
        (("made", 202, {"x-a": "1"}), 202, "text/plain; charset=utf-8", b"made"),
    ],
)
async def test_render_rules(value: Any, status: int, content_type: str | None, body: bytes) -> None:
    got_status, headers, got_body = await sent(Renderer()(value))
    assert (got_status, headers.get("content-type"), got_body) == (status, content_type, body)
    if status != 204:
        assert headers["content-length"] == str(len(body))
    else:
        assert "content-length" not in headers


async def test_decorator_status_and_headers() -> None:
    renderer = Renderer(201, {"X-Kind": "made"})
    status, headers, _ = await sent(renderer({"id": 1}))
    assert status == 201 and headers["x-kind"] == "made"
    own = JSONResponse({"x": 1}, status_code=200)
    assert renderer(own) is own  # a returned Response keeps its own status


def test_unrenderable_value() -> None:
    with pytest.raises(TypeError, match="cannot render"):
        Renderer()(object())
    with pytest.raises(TypeError, match="not"):
        Renderer()(("a", "b"))


def test_dumps_extra_types() -> None:
    value = {"u": uuid.UUID(int=1), "d": dt.date(2024, 1, 2), "s": {1}, "m": Model(name="x")}
    assert orjson.loads(dumps(value)) == {
        "u": "00000000-0000-0000-0000-000000000001",
        "d": "2024-01-02",
        "s": [1],
        "m": {"name": "x"},
    }


async def test_headers_are_mutable_and_body_updates_length() -> None:
    response = HTMLResponse("<p>hi</p>", headers={"X-A": "1"})
    response.headers["x-a"] = "2"
    response.headers.append("set-cookie", "a=1")
    response.set_cookie("b", "x y", httponly=True)
    response.body = b"longer body"
    _, headers, body = await sent(response)
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["x-a"] == "2"
    assert headers["content-length"] == "11" and body == b"longer body"
    assert response.headers.getall("set-cookie") == [
        "a=1",
        "b=x%20y; Path=/; HttpOnly; SameSite=Lax",
    ]


async def test_redirect() -> None:
    status, headers, _ = await sent(RedirectResponse("/a b?x=1"))
    assert status == 307 and headers["location"] == "/a%20b?x=1"


async def test_streaming_async_and_sync() -> None:
    async def agen() -> Any:
        yield "a"
        yield b"b"

    status, headers, body = await sent(StreamingResponse(agen(), media_type="text/plain"))
    assert (status, body) == (200, b"ab")
    assert "content-length" not in headers
    _, _, body = await sent(StreamingResponse(iter([b"x", b"y"])))
    assert body == b"xy"
    _, _, body = await sent(StreamingResponse(iter([b"x"])), method="HEAD")
    assert body == b""


async def test_file_response(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(b"z" * 100_000)
    status, headers, body = await sent(FileResponse(path, filename="d.txt"))
    assert status == 200 and body == b"z" * 100_000
    assert headers["content-length"] == "100000"
    assert headers["content-type"].startswith("text/plain")
    assert headers["content-disposition"] == "attachment; filename*=utf-8''d.txt"
    assert headers["etag"] and headers["last-modified"]
    with pytest.raises(HTTPException) as info:
        FileResponse(tmp_path / "missing")
    assert info.value.status_code == 404
