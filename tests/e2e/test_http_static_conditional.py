"""Conditional GET and range requests on both engines, for static files and for a handler's
FileResponse: validators, 412 (If-Match, If-Unmodified-Since), 304 (If-None-Match,
If-Modified-Since), 206/416 (Range, If-Range),
malformed headers ignored, HEAD, and traversal attempts still refused (over raw sockets)."""

from __future__ import annotations

import email.utils
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from framework import Application, bean
from framework.http import FileResponse, asgi_app, controller, get
from framework.testing.servers import raw_http_request, serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("swoop_leak_check")]

ENGINES = ["hypercorn", "uvicorn"]
MTIME = 1_700_000_000
DATA = bytes(range(256)) * 4  # 1024 bytes
BIG = bytes(range(251)) * 800  # 200_800 bytes: several 64 KiB chunks
LAST_MODIFIED = email.utils.formatdate(MTIME, usegmt=True)


@bean
class Files:
    big: Path = Path()


@controller("/files")
class FileController:
    def __init__(self, files: Files) -> None:
        self.files = files

    @get("/big")
    async def big(self) -> FileResponse:
        return FileResponse(self.files.big, headers={"Cache-Control": "max-age=60"})


@pytest.fixture
def public(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    root.mkdir()
    (root / "data.bin").write_bytes(DATA)
    (root / "empty.txt").write_bytes(b"")
    (tmp_path / "secret.txt").write_text("top secret")
    (tmp_path / "big.bin").write_bytes(BIG)
    for path in (root / "data.bin", root / "empty.txt", tmp_path / "big.bin"):
        os.utime(path, (MTIME, MTIME))
    return root


@pytest.fixture(params=ENGINES)
async def url(request: pytest.FixtureRequest, public: Path) -> AsyncIterator[str]:
    files = Files()
    files.big = public.parent / "big.bin"
    app = Application.from_classes(
        FileController,
        Files,
        config={"http": {"static_dir": str(public)}},
        overrides={Files: files},
    )
    async with serve_asgi(asgi_app(app), engine=request.param) as base:
        yield base


@pytest.fixture
async def client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url) as c:
        yield c


async def etag_of(client: httpx.AsyncClient, path: str = "/data.bin") -> str:
    return (await client.head(path)).headers["etag"]


async def test_validators(client: httpx.AsyncClient) -> None:
    response = await client.get("/data.bin")
    assert response.status_code == 200 and response.content == DATA
    assert response.headers["last-modified"] == LAST_MODIFIED
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == "1024"
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    handler = await client.get("/files/big")
    assert handler.headers["etag"] != etag and handler.content == BIG


@pytest.mark.parametrize("path", ["/data.bin", "/files/big"])
@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", '"other", {etag}', "*", "W/{etag}", '"a,b", W/{etag} , "c"'],
    ids=["exact", "list", "star", "weak", "list-with-commas"],
)
async def test_if_none_match_gives_304(
    client: httpx.AsyncClient, path: str, if_none_match: str
) -> None:
    etag = await etag_of(client, path)
    response = await client.get(path, headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert response.status_code == 304 and response.content == b""
    assert response.headers["etag"] == etag
    assert "content-type" not in response.headers
    assert response.headers.get("content-length", "0") == "0"
    if path == "/files/big":
        assert response.headers["cache-control"] == "max-age=60"


async def test_if_none_match_other_tag_gives_200(client: httpx.AsyncClient) -> None:
    response = await client.get("/data.bin", headers={"If-None-Match": '"nope", W/"x"'})
    assert response.status_code == 200 and response.content == DATA


async def test_if_modified_since(client: httpx.AsyncClient) -> None:
    same = await client.get("/data.bin", headers={"If-Modified-Since": LAST_MODIFIED})
    assert same.status_code == 304 and same.content == b""
    later = email.utils.formatdate(MTIME + 3600, usegmt=True)
    assert (await client.get("/data.bin", headers={"If-Modified-Since": later})).status_code == 304
    earlier = email.utils.formatdate(MTIME - 1, usegmt=True)
    modified = await client.get("/data.bin", headers={"If-Modified-Since": earlier})
    assert modified.status_code == 200 and modified.content == DATA
    # If-None-Match decides alone when present (RFC 9110 §13.1.3)
    both = await client.get(
        "/data.bin", headers={"If-None-Match": '"stale"', "If-Modified-Since": LAST_MODIFIED}
    )
    assert both.status_code == 200


@pytest.mark.parametrize("path", ["/data.bin", "/files/big"])
async def test_if_match_and_if_unmodified_since(client: httpx.AsyncClient, path: str) -> None:
    etag = await etag_of(client, path)
    body = DATA if path == "/data.bin" else BIG
    current = await client.get(path, headers={"If-Match": f'"old", {etag}'})
    assert current.status_code == 200 and current.content == body
    stale = await client.get(path, headers={"If-Match": '"old"', "Range": "bytes=0-1"})
    assert stale.status_code == 412 and stale.content == b""
    assert stale.headers["etag"] == etag and "content-range" not in stale.headers
    assert (await client.get(path, headers={"If-Match": f"W/{etag}"})).status_code == 412
    earlier = email.utils.formatdate(MTIME - 1, usegmt=True)
    changed = await client.head(path, headers={"If-Unmodified-Since": earlier})
    assert changed.status_code == 412
    unchanged = await client.get(
        path, headers={"If-Unmodified-Since": LAST_MODIFIED, "Range": "bytes=2-3"}
    )
    assert unchanged.status_code == 206 and unchanged.content == body[2:4]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-24", 1000, 1023),
        ("bytes=1020-99999", 1020, 1023),
        ("bytes=-5000", 0, 1023),
        ("BYTES = 5-5", 5, 5),
        ("bytes=0-1, 5000-6000", 0, 1),  # the unsatisfiable part is dropped
    ],
)
async def test_range(client: httpx.AsyncClient, header: str, start: int, end: int) -> None:
    response = await client.get("/data.bin", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/1024"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.content == DATA[start : end + 1]
    assert response.headers["content-type"] == "application/octet-stream"


async def test_range_across_chunks_of_a_handler_file(client: httpx.AsyncClient) -> None:
    response = await client.get("/files/big", headers={"Range": "bytes=65000-140000"})
    assert response.status_code == 206
    assert response.content == BIG[65000:140001]


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
async def test_unsatisfiable_range_is_416(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/data.bin", headers={"Range": header})
    assert response.status_code == 416 and response.content == b""
    assert response.headers["content-range"] == "bytes */1024"


@pytest.mark.parametrize(
    "header", ["bytes=5-2", "items=0-1", "bytes=abc", "bytes=", "bytes=1-2-3", "bytes=0-1,2-3"]
)
async def test_malformed_or_multiple_ranges_give_the_whole_file(
    client: httpx.AsyncClient, header: str
) -> None:
    response = await client.get("/data.bin", headers={"Range": header})
    assert response.status_code == 200 and response.content == DATA
    assert "content-range" not in response.headers


async def test_malformed_if_modified_since_is_ignored(client: httpx.AsyncClient) -> None:
    for value in ("yesterday", "", "Sun, 99 Foo 1994 99:99:99 GMT"):
        response = await client.get("/data.bin", headers={"If-Modified-Since": value})
        assert response.status_code == 200 and response.content == DATA


async def test_if_range(client: httpx.AsyncClient) -> None:
    etag = await etag_of(client)
    old = email.utils.formatdate(MTIME - 60, usegmt=True)
    cases = {etag: 206, LAST_MODIFIED: 206, '"stale"': 200, f"W/{etag}": 200, old: 200, "?": 200}
    for if_range, status in cases.items():
        response = await client.get(
            "/data.bin", headers={"Range": "bytes=0-3", "If-Range": if_range}
        )
        assert response.status_code == status, if_range
        assert response.content == (DATA[:4] if status == 206 else DATA)


async def test_empty_file_ignores_range(client: httpx.AsyncClient) -> None:
    response = await client.get("/empty.txt", headers={"Range": "bytes=-5"})
    assert response.status_code == 200 and response.content == b""


async def test_head(client: httpx.AsyncClient) -> None:
    etag = await etag_of(client)
    not_modified = await client.head("/data.bin", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.headers["etag"] == etag
    # Range is defined for GET only: a HEAD answers as the full GET would
    ranged = await client.head("/data.bin", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 200 and ranged.content == b""
    assert ranged.headers["content-length"] == "1024"
    handler = await client.head("/files/big", headers={"If-None-Match": "*"})
    assert handler.status_code == 304 and handler.content == b""


async def test_other_methods_ignore_preconditions(client: httpx.AsyncClient) -> None:
    response = await client.post("/data.bin", headers={"If-None-Match": "*"})
    assert response.status_code == 404  # static files answer GET and HEAD only


@pytest.mark.parametrize("target", ["/../secret.txt", "/%2e%2e/secret.txt", "/..%5csecret.txt"])
@pytest.mark.parametrize("headers", ["If-None-Match: *\r\n", "Range: bytes=0-3\r\n"])
async def test_traversal_still_refused(url: str, target: str, headers: str) -> None:
    status, body = await raw_http_request(url, target, headers=headers)
    assert status in (400, 404)
    assert b"top" not in body
