"""Swoop's connection driver for the hypercorn engine, on real sockets on loopback: what it
does in place of Hypercorn's ``TCPServer`` (ordering, flow control, timeouts, the stop) and
the protocols it drives (h11, h2c, WebSocket with the broadcast fast path)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import anyio
import h2.config
import h2.connection
import h2.events
import pytest
from anyio.abc import SocketStream
from websockets.asyncio.client import connect as websocket_connect

from framework.server import EngineOptions, bind_tcp, endpoint
from framework.server.fastpath import direct_writer, encode_frame
from framework.server.hypercorn_driver import HypercornDriver
from framework.server.hypercorn_engine import HypercornEngine, hypercorn_config
from framework.server.typing import ASGIReceive, ASGISend, Scope
from framework.testing.servers import open_raw, read_until_closed, serve_asgi

pytestmark = pytest.mark.anyio

CHUNK = 64 * 1024
BIG_CHUNKS = 1024  # a 64 MiB response
FAST = EngineOptions(graceful_timeout=5.0, keep_alive_timeout=30.0)


class App:
    """A raw ASGI app; each path is one behaviour the tests look at."""

    def __init__(self) -> None:
        self.http_versions: list[str] = []
        self.slow_started = anyio.Event()
        self.disconnected = anyio.Event()
        self.chunks_sent = 0
        self.ws_direct: list[int] = []
        self.flooded = anyio.Event()
        self.release = anyio.Event()

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "websocket" and scope["path"] == "/slow":
            await self.slow_websocket(receive, send)
        elif scope["type"] == "websocket":
            await self.websocket(receive, send)
        else:
            self.http_versions.append(scope["http_version"])
            await self.http(scope["path"], receive, send)

    async def http(self, path: str, receive: ASGIReceive, send: ASGISend) -> None:
        if path == "/stall":  # reads nothing until released
            self.slow_started.set()
            await self.release.wait()
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected.set()
                return
            body += message["body"]
            if not message.get("more_body", False):
                break
        if path == "/slow":
            self.slow_started.set()
            await anyio.sleep(0.5)
        elif path == "/later":
            await anyio.sleep(0.005)
        elif path == "/wait-disconnect":
            self.slow_started.set()
            if (await receive())["type"] == "http.disconnect":
                self.disconnected.set()
            return
        elif path == "/big":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for _ in range(BIG_CHUNKS):
                await send({"type": "http.response.body", "body": b"x" * CHUNK, "more_body": True})
                self.chunks_sent += 1
            await send({"type": "http.response.body", "body": b""})
            return
        answer = body or path.encode()
        headers = [(b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def slow_websocket(self, receive: ASGIReceive, send: ASGISend) -> None:
        # takes its time over each message: the client's next ones wait in the engine
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        seen: list[str] = []
        while (message := await receive())["type"] == "websocket.receive":
            await anyio.sleep(0.002)
            seen.append(message["text"])
            if message["text"] == "end":
                await send({"type": "websocket.send", "text": ",".join(seen)})

    async def websocket(self, receive: ASGIReceive, send: ASGISend) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        direct = direct_writer(send)
        assert direct is not None, "the fast path must find the driver's connection"
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                assert not direct(encode_frame("late")), "a closed stream refuses"
                return
            text = message.get("text")
            if text == "flood":  # direct frames until the transport pushes back, then ASGI
                sent = 0
                while direct(encode_frame(f"{sent}:" + "y" * 1000)):
                    sent += 1
                self.ws_direct.append(sent)
                self.flooded.set()
                await send({"type": "websocket.send", "text": f"{sent}:after"})
            elif text == "direct":
                assert direct(encode_frame("direct"))
            else:
                await send({"type": "websocket.send", "text": text})


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
async def url(app: App) -> AsyncIterator[str]:
    async with serve_asgi(app, engine="hypercorn", options=FAST) as base_url:
        yield base_url


@asynccontextmanager
async def stoppable(
    app: App, options: EngineOptions = FAST
) -> AsyncIterator[tuple[str, Callable[[], None], anyio.Event]]:
    """A hypercorn server; yields its URL, the function that begins its stop, and the event
    set once ``serve`` returned."""
    sock = bind_tcp("127.0.0.1", 0)
    url = f"http://{endpoint(sock)}"
    shutdown, ready, returned = anyio.Event(), anyio.Event(), anyio.Event()

    async def serve() -> None:
        try:
            await HypercornEngine().serve(
                app, [sock], shutdown_trigger=shutdown.wait, options=options, ready=ready.set
            )
        finally:
            returned.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        await ready.wait()
        try:
            yield url, shutdown.set, returned
        finally:
            shutdown.set()


async def read_response(stream: SocketStream) -> bytes:
    """One response with a content-length, read from a kept-alive connection."""
    data = b""
    with anyio.fail_after(3):
        while b"\r\n\r\n" not in data:
            data += await stream.receive()
        head, _, body = data.partition(b"\r\n\r\n")
        match = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
        assert match is not None
        while len(body) < int(match[1]):
            body += await stream.receive()
    return head + b"\r\n\r\n" + body


# -- the stop ------------------------------------------------------------------------------------


async def test_stop_waits_for_the_request_in_flight_then_closes_its_connection(app: App) -> None:
    async with stoppable(app) as (url, stop, returned), await open_raw(url) as stream:
        await stream.send(b"GET /slow HTTP/1.1\r\nhost: test\r\n\r\n")
        await app.slow_started.wait()
        stop()
        await anyio.sleep(0.1)
        assert not returned.is_set(), "serve returned before the request in flight ended"
        answer = await read_until_closed(stream)  # closed after it: not kept alive
        with anyio.fail_after(2):
            await returned.wait()
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"/slow")


async def test_idle_keep_alive_connections_are_closed_at_once_on_stop(app: App) -> None:
    # keep_alive_timeout is 30 s and the grace period 5 s: neither is waited for
    async with stoppable(app) as (url, stop, returned):
        async with await open_raw(url) as kept, await open_raw(url) as silent:
            await kept.send(b"GET /first HTTP/1.1\r\nhost: test\r\n\r\n")
            assert (await read_response(kept)).endswith(b"/first")
            started = anyio.current_time()
            stop()
            assert await read_until_closed(kept, 1.0) == b""
            assert await read_until_closed(silent, 1.0) == b""
            with anyio.fail_after(1):
                await returned.wait()
    assert anyio.current_time() - started < 1.0


async def test_keep_alive_timeout_closes_an_idle_connection(app: App) -> None:
    options = EngineOptions(graceful_timeout=5.0, keep_alive_timeout=0.3)
    async with serve_asgi(app, engine="hypercorn", options=options) as url:
        async with await open_raw(url) as stream:
            await stream.send(b"GET /a HTTP/1.1\r\nhost: test\r\n\r\n")
            assert (await read_response(stream)).endswith(b"/a")
            await stream.send(b"GET /b HTTP/1.1\r\nhost: test\r\n\r\n")  # timer restarted
            assert (await read_response(stream)).endswith(b"/b")
            started = anyio.current_time()
            assert await read_until_closed(stream, 2.0) == b""
    assert 0.2 < anyio.current_time() - started < 1.5


async def test_read_timeout_closes_a_connection_that_stops_sending(app: App) -> None:
    # Off in the engine's config; the driver honours Hypercorn's read_timeout when set.
    config = hypercorn_config(FAST)
    config.read_timeout = 0.3
    sock = bind_tcp("127.0.0.1", 0)
    shutdown, ready = anyio.Event(), anyio.Event()

    async def trigger() -> None:
        ready.set()
        await shutdown.wait()

    driver = HypercornDriver(app, config)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(driver.serve, [sock], shutdown_trigger=trigger))
            await ready.wait()
            async with await open_raw(f"http://{endpoint(sock)}") as stream:
                # headers complete (the keep-alive timer is off), half of the body
                await stream.send(
                    b"POST / HTTP/1.1\r\nhost: test\r\ncontent-length: 10\r\n\r\n12345"
                )
                assert await read_until_closed(stream, 2.0) == b""
            with anyio.fail_after(2):
                await app.disconnected.wait()
            shutdown.set()
    finally:
        sock.close()


# -- reading: order, flow control, disconnects -----------------------------------------------


async def test_pipelined_requests_in_one_packet_are_answered_in_order(url: str) -> None:
    count = 200
    requests = b"".join(b"GET /p%d HTTP/1.1\r\nhost: test\r\n\r\n" % i for i in range(count))
    requests += (
        b"POST /last HTTP/1.1\r\nhost: test\r\ncontent-length: 4\r\nconnection: close\r\n\r\nlast"
    )
    async with await open_raw(url) as stream:
        await stream.send(requests)
        data = await read_until_closed(stream, 10.0)
    bodies = re.findall(rb"\r\n\r\n(/p\d+|last)", data)
    assert bodies == [b"/p%d" % i for i in range(count)] + [b"last"]
    assert data.count(b"HTTP/1.1 200 ") == count + 1


async def test_pipelined_requests_in_small_pieces_are_answered_in_order(url: str) -> None:
    # Pieces arrive while the protocol waits for the app's previous response: they queue
    # in the driver and reach h11 in order.
    count = 30
    requests = b"".join(
        b"POST /later HTTP/1.1\r\nhost: test\r\ncontent-length: 3\r\n\r\nb%02d" % i
        for i in range(count)
    )
    requests += b"GET /end HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n"
    async with await open_raw(url) as stream:
        for start in range(0, len(requests), 7):
            await stream.send(requests[start : start + 7])
            await anyio.sleep(0.001)
        data = await read_until_closed(stream, 10.0)
    bodies = re.findall(rb"\r\n\r\n(b\d\d|/end)", data)
    assert bodies == [b"b%02d" % i for i in range(count)] + [b"/end"]


async def test_websocket_messages_reach_a_slow_app_in_order(url: str) -> None:
    async with websocket_connect(url.replace("http://", "ws://") + "/slow") as ws:
        for i in range(100):
            await ws.send(f"m{i}")
            if i % 10 == 0:
                await anyio.sleep(0.001)
        await ws.send("end")
        with anyio.fail_after(5):
            assert await ws.recv() == ",".join([f"m{i}" for i in range(100)] + ["end"])


async def test_a_client_that_does_not_read_stops_the_app_not_fills_memory(
    url: str, app: App
) -> None:
    async with await open_raw(url) as stream:
        await stream.send(b"GET /big HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
        await anyio.sleep(0.5)
        sent = app.chunks_sent
        await anyio.sleep(0.5)
        assert app.chunks_sent == sent, "the app kept writing to a client that does not read"
        assert sent * CHUNK < 16 * 1024 * 1024  # socket buffers and one transport high-water
        received = 0
        with anyio.fail_after(20):
            try:
                while True:
                    received += len(await stream.receive())
            except anyio.EndOfStream:
                pass
    assert app.chunks_sent == BIG_CHUNKS
    assert received > BIG_CHUNKS * CHUNK


async def test_a_client_that_sends_faster_than_the_app_reads_is_paused(url: str, app: App) -> None:
    # The app takes no message of its body: once its queue and the driver's buffer are
    # full, the driver stops reading, and the client's sends block.
    async with await open_raw(url) as stream:
        await stream.send(
            b"POST /stall HTTP/1.1\r\nhost: test\r\ncontent-length: 9999999999\r\n\r\n"
        )
        await app.slow_started.wait()
        sent = 0
        with anyio.move_on_after(1.0):
            while True:
                await stream.send(b"z" * CHUNK)
                sent += CHUNK
        app.release.set()
    assert sent < 64 * 1024 * 1024, "the server kept buffering a body nobody reads"


async def test_client_disconnect_after_the_request_reaches_the_app(url: str, app: App) -> None:
    async with await open_raw(url) as stream:
        await stream.send(b"GET /wait-disconnect HTTP/1.1\r\nhost: test\r\n\r\n")
        await app.slow_started.wait()
    with anyio.fail_after(2):
        await app.disconnected.wait()
    async with await open_raw(url) as other:  # and the server goes on
        await other.send(b"GET /next HTTP/1.1\r\nhost: test\r\n\r\n")
        assert (await read_response(other)).endswith(b"/next")


async def test_client_disconnect_in_the_middle_of_a_body(url: str, app: App) -> None:
    async with await open_raw(url) as stream:
        await stream.send(b"POST /echo HTTP/1.1\r\nhost: test\r\ncontent-length: 100\r\n\r\nhalf")
        await anyio.sleep(0.1)
    with anyio.fail_after(2):
        await app.disconnected.wait()


# -- WebSocket and h2c ---------------------------------------------------------------------------


async def test_websocket_upgrade_and_the_direct_frame_writer(url: str) -> None:
    async with await open_raw(url) as stream:
        await stream.send(
            b"GET /ws HTTP/1.1\r\nhost: test\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
            b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
        )
        head = b""
        with anyio.fail_after(3):
            while b"\r\n\r\n" not in head:
                head += await stream.receive()
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    async with websocket_connect(url.replace("http://", "ws://") + "/ws") as ws:
        await ws.send("direct")
        assert await ws.recv() == "direct"
        await ws.send("echo")
        assert await ws.recv() == "echo"


async def test_direct_frames_stop_at_the_high_water_mark_and_keep_their_order(
    url: str, app: App
) -> None:
    # The client reads nothing until the app is done: direct writes must stop once the
    # transport is full, the ASGI send after them waits for the drain, and every frame
    # arrives in order.
    async with websocket_connect(url.replace("http://", "ws://") + "/ws", max_queue=1) as ws:
        await ws.send("flood")
        with anyio.fail_after(5):
            await app.flooded.wait()
        sent = app.ws_direct[0]
        assert 0 < sent * 1000 < 64 * 1024 * 1024
        expected = 0
        with anyio.fail_after(20):
            while expected < sent:
                frame = await ws.recv()
                assert isinstance(frame, str) and frame.startswith(f"{expected}:")
                expected += 1
            assert await ws.recv() == f"{sent}:after"


async def test_h2c_upgrade_then_more_requests_over_h2(url: str, app: App) -> None:
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    settings = client.initiate_upgrade_connection()
    async with await open_raw(url) as stream:
        await stream.send(
            b"GET /upgraded HTTP/1.1\r\nhost: test\r\nconnection: Upgrade, HTTP2-Settings\r\n"
            b"upgrade: h2c\r\nhttp2-settings: " + settings + b"\r\n\r\n"
        )
        data = b""
        with anyio.fail_after(3):
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
        head, _, rest = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 ")
        client.send_headers(
            3,
            [(":method", "POST"), (":path", "/echo"), (":scheme", "http"), (":authority", "t")],
        )
        client.send_data(3, b"over h2", end_stream=True)
        await stream.send(client.data_to_send())
        bodies: dict[int, bytes] = {1: b"", 3: b""}
        ended: set[int] = set()
        events = client.receive_data(rest)
        with anyio.fail_after(3):
            while True:
                for event in events:
                    if isinstance(event, h2.events.DataReceived):
                        bodies[event.stream_id] += event.data
                        client.acknowledge_received_data(len(event.data), event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        ended.add(event.stream_id)
                if ended == {1, 3}:
                    break
                await stream.send(client.data_to_send())
                events = client.receive_data(await stream.receive())
        client.close_connection()
        await stream.send(client.data_to_send())
    assert bodies == {1: b"/upgraded", 3: b"over h2"}
    assert app.http_versions == ["2", "2"]


async def test_every_connection_is_forgotten_once_closed(app: App) -> None:
    # What the driver tracks (connections, tasks) empties: the stop then does not wait.
    async with stoppable(app) as (url, stop, returned):
        for _ in range(20):
            async with await open_raw(url) as stream:
                await stream.send(b"GET /x HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
                assert (await read_until_closed(stream)).endswith(b"/x")
        async with websocket_connect(url.replace("http://", "ws://") + "/ws") as ws:
            await ws.send("hi")
            assert await ws.recv() == "hi"
        await anyio.sleep(0.1)
        started = anyio.current_time()
        stop()
        with anyio.fail_after(1):
            await returned.wait()
    assert anyio.current_time() - started < 0.5
