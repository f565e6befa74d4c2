"""Both engines pass the same end-to-end tests, on real sockets on loopback."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import AsyncIterator
from functools import partial

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect as websocket_connect

from framework.server import (
    EngineOptions,
    LifespanStartupError,
    bind_tcp,
    endpoint,
    engine_named,
    run,
)
from framework.server.typing import ASGIReceive, ASGISend, Scope
from framework.testing.servers import (
    open_raw,
    read_until_closed,
    serve_asgi,
    serve_asgi_in_thread,
)

# Marked here as well as by tests/conftest.py: a mark added after collection makes anyio
# re-create the items and drop the ``engine`` parameter.
pytestmark = pytest.mark.anyio

ENGINES = ["hypercorn", "uvicorn"]
FAST = EngineOptions(graceful_timeout=5.0, keep_alive_timeout=0.3, header_timeout=0.3)


class App:
    """A raw ASGI app recording what the engine tells it."""

    def __init__(
        self, *, fail_startup: bool = False, fail_shutdown: bool = False, slow_seconds: float = 1.0
    ) -> None:
        self.lifespan: list[str] = []
        self.http_versions: list[str] = []
        self.slow_started = anyio.Event()
        self.slow_seconds = slow_seconds
        self.fail_startup = fail_startup
        self.fail_shutdown = fail_shutdown

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] == "lifespan":
            await self.run_lifespan(receive, send)
        elif scope["type"] == "websocket":
            await self.echo_websocket(receive, send)
        else:
            self.http_versions.append(scope["http_version"])
            await self.respond(scope["path"], receive, send)

    async def run_lifespan(self, receive: ASGIReceive, send: ASGISend) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.lifespan.append("startup")
                if self.fail_startup:
                    await send({"type": "lifespan.startup.failed", "message": "no database"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.lifespan.append("shutdown")
                if self.fail_shutdown:
                    await send({"type": "lifespan.shutdown.failed", "message": "flush failed"})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def respond(self, path: str, receive: ASGIReceive, send: ASGISend) -> None:
        body = b""
        while True:
            message = await receive()
            assert message["type"] == "http.request"
            body += message["body"]
            if not message.get("more_body", False):
                break
        if path == "/slow":
            self.slow_started.set()
            await anyio.sleep(self.slow_seconds)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if path == "/stream":
            for i in range(5):
                await send({"type": "http.response.body", "body": b"%d," % i, "more_body": True})
            await send({"type": "http.response.body", "body": b"end"})
        else:
            await send({"type": "http.response.body", "body": body or b"hello"})

    async def echo_websocket(self, receive: ASGIReceive, send: ASGISend) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            assert message["type"] == "websocket.receive"
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message.get("text")})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes")})


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
async def url(app: App, engine: str) -> AsyncIterator[str]:
    async with serve_asgi(app, engine=engine, options=FAST) as base_url:
        yield base_url


async def test_get_and_post_with_body(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/")).text == "hello"
        body = bytes(range(256)) * 1024
        response = await client.post("/echo", content=body)
    assert response.status_code == 200
    assert response.content == body


async def test_streaming_response(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client, client.stream("GET", "/stream") as r:
        assert r.headers["transfer-encoding"] == "chunked"
        assert b"".join([chunk async for chunk in r.aiter_raw()]) == b"0,1,2,3,4,end"


async def test_h2c_prior_knowledge(url: str, app: App, engine: str) -> None:
    if "h2c" not in engine_named(engine).protocols:
        pytest.skip(f"{engine} serves HTTP/1.1 only")
    if importlib.util.find_spec("h2") is None:
        pytest.skip("httpx needs the h2 package for HTTP/2")
    async with httpx.AsyncClient(base_url=url, http1=False, http2=True) as client:
        response = await client.post("/echo", content=b"over h2")
    assert (response.http_version, response.content) == ("HTTP/2", b"over h2")
    assert app.http_versions == ["2"]


async def test_websocket_echo(url: str) -> None:
    async with websocket_connect(url.replace("http://", "ws://") + "/ws") as ws:
        await ws.send("hi")
        assert await ws.recv() == "hi"
        await ws.send(b"\x00\x01")
        assert await ws.recv() == b"\x00\x01"


async def test_lifespan_runs_before_serving_and_after_stop(engine: str) -> None:
    app = App()
    async with serve_asgi(app, engine=engine) as url:
        assert app.lifespan == ["startup"]
        async with httpx.AsyncClient() as client:
            assert (await client.get(url)).status_code == 200
    assert app.lifespan == ["startup", "shutdown"]


async def test_lifespan_off_keeps_events_from_the_app(engine: str) -> None:
    app = App()
    async with serve_asgi(app, engine=engine, options=EngineOptions(lifespan=False)) as url:
        async with httpx.AsyncClient() as client:
            assert (await client.get(url)).status_code == 200
    assert app.lifespan == []


async def test_failed_startup_raises_and_serves_nothing(engine: str) -> None:
    with pytest.raises(LifespanStartupError, match="lifespan startup failed"):
        async with serve_asgi(App(fail_startup=True), engine=engine):
            pytest.fail("yielded a URL although startup failed")


async def test_failed_shutdown_is_logged_not_raised(engine: str) -> None:
    app = App(fail_shutdown=True)
    async with serve_asgi(app, engine=engine):
        pass
    assert app.lifespan == ["startup", "shutdown"]


async def test_engine_closes_its_sockets_also_on_failure(engine: str) -> None:
    sock = bind_tcp("127.0.0.1", 0)
    never = anyio.Event()
    with pytest.raises(LifespanStartupError):
        await engine_named(engine).serve(
            App(fail_startup=True), [sock], shutdown_trigger=never.wait
        )
    assert sock.fileno() == -1


async def test_graceful_stop_finishes_in_flight_and_refuses_new(engine: str) -> None:
    app = App(slow_seconds=2.0)
    sock = bind_tcp("127.0.0.1", 0)
    url = f"http://{endpoint(sock)}"
    shutdown, ready = anyio.Event(), anyio.Event()
    responses: list[httpx.Response] = []

    async def fetch_slow() -> None:
        async with httpx.AsyncClient() as client:
            responses.append(await client.get(f"{url}/slow"))

    serve = partial(engine_named(engine).serve, app, [sock], shutdown_trigger=shutdown.wait)
    async with anyio.create_task_group() as tg:
        tg.start_soon(partial(serve, options=FAST, ready=ready.set))
        await ready.wait()
        tg.start_soon(fetch_slow)
        await app.slow_started.wait()
        shutdown.set()
        with anyio.fail_after(1.5):  # well before the slow request ends
            while True:
                try:
                    stream = await open_raw(url)
                except OSError:
                    break
                await stream.aclose()
                await anyio.sleep(0.02)
        assert not responses, "the listening socket closed only after in-flight requests"
    assert [(r.status_code, r.text) for r in responses] == [(200, "hello")]
    assert app.lifespan == ["startup", "shutdown"]


async def test_stop_cancels_requests_past_the_grace_period(engine: str) -> None:
    app = App(slow_seconds=30.0)
    outcome: list[object] = []

    async def fetch_slow(url: str) -> None:
        async with httpx.AsyncClient() as client:
            try:
                outcome.append((await client.get(f"{url}/slow")).status_code)
            except httpx.TransportError as exc:
                outcome.append(type(exc))

    async with anyio.create_task_group() as tg:
        async with serve_asgi(
            app, engine=engine, options=EngineOptions(graceful_timeout=0.3)
        ) as url:
            tg.start_soon(fetch_slow, url)
            await app.slow_started.wait()
            stopping = anyio.current_time()
        stopped_after = anyio.current_time() - stopping
    assert stopped_after < 2.0
    # Cancelled before it started responding: a 500 or a dropped connection, never a 200.
    assert outcome in ([500], [httpx.RemoteProtocolError], [httpx.ReadError])


async def test_cancelling_serve_forces_the_stop(engine: str) -> None:
    app = App(slow_seconds=30.0)
    sock = bind_tcp("127.0.0.1", 0)
    url = f"http://{endpoint(sock)}"
    never, ready = anyio.Event(), anyio.Event()
    outcome: list[object] = []

    async def fetch_slow() -> None:
        async with httpx.AsyncClient() as client:
            try:
                outcome.append((await client.get(f"{url}/slow")).status_code)
            except httpx.TransportError as exc:
                outcome.append(type(exc))

    serve = partial(engine_named(engine).serve, app, [sock], shutdown_trigger=never.wait)
    async with anyio.create_task_group() as clients:
        async with anyio.create_task_group() as server:
            server.start_soon(partial(serve, ready=ready.set))  # default 10 s grace
            await ready.wait()
            clients.start_soon(fetch_slow)
            await app.slow_started.wait()
            cancelled_at = anyio.current_time()
            server.cancel_scope.cancel()
        assert anyio.current_time() - cancelled_at < 2.0
    assert sock.fileno() == -1
    assert outcome in ([500], [httpx.RemoteProtocolError], [httpx.ReadError])
    assert app.lifespan == ["startup", "shutdown"]


async def test_connection_refused_after_stop(app: App, engine: str) -> None:
    async with serve_asgi(app, engine=engine) as url:
        pass
    with pytest.raises(OSError):
        await open_raw(url)


async def test_error_in_the_block_stops_the_server_and_propagates(engine: str) -> None:
    app = App()
    with pytest.raises(ZeroDivisionError):
        async with serve_asgi(app, engine=engine) as url:
            1 / 0  # noqa: B018
    assert app.lifespan == ["startup", "shutdown"]
    with pytest.raises(OSError):
        await open_raw(url)


async def test_idle_keep_alive_connection_is_closed(url: str) -> None:
    stream = await open_raw(url)
    async with stream:
        await stream.send(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 200") and b"hello" in data


async def test_silent_connection_is_closed(url: str) -> None:
    async with await open_raw(url) as stream:
        assert await read_until_closed(stream) == b""


async def test_slow_headers_are_cut_off(url: str) -> None:
    async with await open_raw(url) as stream:
        await stream.send(b"GET / HTTP/1.1\r\nhost: test\r\n")
        for _ in range(3):  # trickling bytes does not keep the connection open
            await anyio.sleep(0.1)
            await stream.send(b"x-slow: 1\r\n")
        assert await read_until_closed(stream) == b""


async def test_oversized_headers_rejected_while_others_are_served(engine: str) -> None:
    options = EngineOptions(max_header_size=8 * 1024)
    async with serve_asgi(App(), engine=engine, options=options) as url:
        async with httpx.AsyncClient(base_url=url) as client, await open_raw(url) as big:
            await big.send(b"GET / HTTP/1.1\r\nhost: test\r\nx-big: " + b"a" * 16 * 1024)
            assert (await client.get("/")).text == "hello"
            answer = await read_until_closed(big)
            assert (await client.get("/")).text == "hello"
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_run_blocks_until_the_trigger_fires(engine: str) -> None:
    sock = bind_tcp("127.0.0.1", 0)
    url = f"http://{endpoint(sock)}"
    ready, stop = threading.Event(), threading.Event()

    async def until_stop() -> None:
        while not stop.is_set():  # noqa: ASYNC110 (set from another thread, not this loop)
            await anyio.sleep(0.02)

    worker = threading.Thread(
        target=partial(
            run, engine_named(engine), App(), [sock], shutdown_trigger=until_stop, ready=ready.set
        )
    )
    worker.start()
    try:
        assert ready.wait(5)
        assert httpx.get(url).text == "hello"
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()
    assert sock.fileno() == -1


def test_serve_in_thread_for_sync_tests(engine: str) -> None:
    with serve_asgi_in_thread(App(), engine=engine) as url:
        assert httpx.post(url, content=b"sync").text == "sync"
