"""Swoop's WebSocket protocol on a real Uvicorn server, spoken to over raw sockets: the
handshake, RFC 6455 framing and its failures, closing, keepalive and back pressure. After
every bad input, the server must still serve another connection."""

from __future__ import annotations

import base64
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework import Application
from framework.server import EngineOptions, ws_protocol, ws_wire
from framework.server.uvicorn_engine import UvicornEngine
from framework.testing.servers import serve_asgi_in_thread
from framework.websocket import (
    Connection,
    Gateway,
    WebSocketExtension,
    message_mapping,
    ws_asgi_app,
    ws_controller,
    ws_module,
)

MAX_SIZE = 4096
KEY = base64.b64encode(os.urandom(16)).decode()
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


# -- the server side ---------------------------------------------------------------------------


class EchoApp:
    """A raw ASGI app: echoes; records every disconnect message it receives."""

    def __init__(self) -> None:
        self.disconnects: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"plain HTTP"})
            return
        assert (await receive())["type"] == "websocket.connect"
        path = scope["path"]
        if path == "/deny":
            headers = [(b"content-type", b"text/plain"), (b"x-why", b"token")]
            start = {"type": "websocket.http.response.start", "status": 401, "headers": headers}
            await send(start)
            await send({"type": "websocket.http.response.body", "body": b"no ", "more_body": True})
            await send({"type": "websocket.http.response.body", "body": b"entry"})
            return
        if path == "/reject":
            await send({"type": "websocket.close"})
            return
        if path == "/crash-early":
            raise RuntimeError("boom before accept")
        offered = scope["subprotocols"]
        await send(
            {
                "type": "websocket.accept",
                "subprotocol": offered[-1] if offered else None,
                "headers": [(b"x-hello", b"world")],
            }
        )
        if path == "/crash":
            raise RuntimeError("boom after accept")
        if path == "/return":
            return
        if path == "/close":
            await send({"type": "websocket.close", "code": 4000, "reason": "bye"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                with self.lock:
                    self.disconnects.append(message)
                return
            reply = {k: v for k, v in message.items() if k in ("text", "bytes")}
            await send({"type": "websocket.send", **reply})

    def wait_disconnect(self, count: int = 1) -> dict[str, Any]:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.disconnects) >= count:
                    return self.disconnects[count - 1]
            time.sleep(0.01)
        raise AssertionError(f"the app saw {len(self.disconnects)} disconnects, not {count}")


@pytest.fixture
def echo() -> EchoApp:
    return EchoApp()


@pytest.fixture
def port(echo: EchoApp) -> Iterator[int]:
    engine = UvicornEngine(ws_max_size=MAX_SIZE)
    with serve_asgi_in_thread(echo, engine=engine) as url:
        yield int(url.rsplit(":", 1)[1])


# -- a raw client ------------------------------------------------------------------------------


def request(path: str = "/echo", **headers: str) -> bytes:
    fields = {
        "Host": "127.0.0.1",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in headers.items():
        fields[name.replace("_", "-")] = value
    lines = [f"GET {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in fields.items() if v]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    masked: bool = True,
    rsv: int = 0,
    length: int | None = None,
) -> bytes:
    size = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    flag = 0x80 if masked else 0
    if size < 126:
        head += bytes([flag | size])
    elif size < 65536:
        head += bytes([flag | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([flag | 127]) + size.to_bytes(8, "big")
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Client:
    """One raw TCP connection with a read buffer."""

    def __init__(self, port: int, *, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        self.buffer += chunk
        return bool(chunk)

    def response(self, *, body: bool = True) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and (for a refusal) the body up to the connection's end."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise AssertionError(f"no complete response: {self.buffer!r}")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status == 101 or not body:
            return status, headers, b""
        while self._fill():
            pass
        return status, headers, self.buffer

    def handshake(self, path: str = "/echo", **headers: str) -> dict[str, str]:
        self.send(request(path, **headers))
        status, found, _ = self.response()
        assert status == 101, status
        return found

    def frame(self) -> tuple[bool, int, bytes]:
        while True:
            buf = self.buffer
            if len(buf) >= 2:
                size, head = buf[1] & 0x7F, 2
                if size == 126 and len(buf) >= 4:
                    size, head = int.from_bytes(buf[2:4], "big"), 4
                elif size == 127 and len(buf) >= 10:
                    size, head = int.from_bytes(buf[2:10], "big"), 10
                if size < 126 or head > 2:
                    assert not buf[1] & 0x80, "server frames are never masked"
                    if len(buf) >= head + size:
                        self.buffer = buf[head + size :]
                        return bool(buf[0] & 0x80), buf[0] & 0x0F, buf[head : head + size]
            if not self._fill():
                raise EOFError(f"connection ended, buffer {self.buffer!r}")

    def message(self) -> bytes:
        fin, opcode, payload = self.frame()
        assert (fin, opcode) in ((True, TEXT), (True, BINARY)), (fin, opcode, payload)
        return payload

    def closed_with(self, *, answer: bool = True) -> tuple[int, str]:
        """The close frame the server sent (skipping data); answered as a client does,
        then the server must end the TCP connection."""
        while True:
            _, opcode, payload = self.frame()
            if opcode == CLOSE:
                break
        if answer:
            try:
                self.send(frame(CLOSE, payload))
            except OSError:
                pass  # a failed connection is closed without waiting for our answer
        assert self.ended()
        if not payload:
            return 1005, ""
        return int.from_bytes(payload[:2], "big"), payload[2:].decode()

    def ended(self) -> bool:
        """The server closes the TCP connection (EOF) within the socket timeout."""
        while self._fill():
            pass
        return True


def assert_serving(port: int) -> None:
    with Client(port) as client:
        client.handshake()
        client.send(frame(TEXT, b"still here"))
        assert client.message() == b"still here"


# -- handshake ---------------------------------------------------------------------------------


def test_handshake_happy_path(port: int) -> None:
    with Client(port) as client:
        headers = client.handshake("/echo?x=1", Sec_WebSocket_Protocol="chat, v2")
        digest = ws_wire.check_upgrade(
            "GET",
            "HTTP/1.1",
            [
                (b"host", b"h"),
                (b"upgrade", b"websocket"),
                (b"connection", b"upgrade"),
                (b"sec-websocket-key", KEY.encode()),
                (b"sec-websocket-version", b"13"),
            ],
        )[0]
        assert headers["sec-websocket-accept"] == digest.decode()
        assert headers["upgrade"].lower() == "websocket"
        assert headers["sec-websocket-protocol"] == "v2"
        assert headers["x-hello"] == "world"
        assert "sec-websocket-extensions" not in headers  # nothing negotiated
        client.send(frame(TEXT, "héllo".encode()))
        assert client.message() == "héllo".encode()
        client.send(frame(BINARY, b"\x00\xff"))
        assert client.message() == b"\x00\xff"


def test_upgrade_header_tokens_are_case_insensitive(port: int) -> None:
    with Client(port) as client:
        client.handshake(Upgrade="WebSocket", Connection="keep-alive, Upgrade")
        client.send(frame(TEXT, b"ok"))
        assert client.message() == b"ok"


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        (request().replace(b"GET", b"POST", 1), 400, "must use GET"),
        (request().replace(b"HTTP/1.1", b"HTTP/1.0", 1), 400, "HTTP/1.1"),
        (request(Host=""), 400, "Host"),
        (request(Sec_WebSocket_Key=""), 400, "Sec-WebSocket-Key"),
        (request(Sec_WebSocket_Key="c2hvcnQ="), 400, "16 bytes"),
        (request(Sec_WebSocket_Key="not base64 at all!!"), 400, "16 bytes"),
        (request(Sec_WebSocket_Version=""), 426, "version"),
        (request(Sec_WebSocket_Version="8"), 426, "version"),
    ],
)
def test_bad_upgrades_get_an_error_with_a_reason(
    port: int, raw: bytes, status: int, words: str
) -> None:
    with Client(port) as client:
        client.send(raw)
        got, headers, body = client.response()
        assert got == status
        assert words in body.decode()
        assert headers["connection"] == "close"
        if status == 426:
            assert headers["sec-websocket-version"] == "13"
    assert_serving(port)


@pytest.mark.parametrize(
    "headers", [{"Upgrade": ""}, {"Upgrade": "h2c"}, {"Connection": ""}, {"Connection": "close"}]
)
def test_requests_that_do_not_ask_for_websocket_are_plain_http(
    port: int, headers: dict[str, str]
) -> None:
    # Uvicorn's HTTP protocol only hands over requests with both Upgrade: websocket and
    # Connection: upgrade; the others are ordinary requests for the application.
    with Client(port) as client:
        client.send(request(**headers))
        status, _, _ = client.response(body=False)
        assert status == 404
    assert_serving(port)


def test_denial_with_the_http_response_extension(port: int) -> None:
    with Client(port) as client:
        client.send(request("/deny"))
        status, headers, body = client.response()
        assert (status, body) == (401, b"no entry")
        assert headers["x-why"] == "token" and headers["connection"] == "close"
    with Client(port) as client:
        client.send(request("/reject"))
        assert client.response()[0] == 403
    assert_serving(port)


def test_app_errors_before_and_after_accept(port: int) -> None:
    with Client(port) as client:
        client.send(request("/crash-early"))
        assert client.response()[0] == 500
    with Client(port) as client:
        client.handshake("/crash")
        assert client.closed_with() == (1011, "internal error")
    with Client(port) as client:
        client.handshake("/return")
        assert client.closed_with() == (1000, "")
    assert_serving(port)


# -- frames ------------------------------------------------------------------------------------


def test_fragmented_messages_with_control_frames_between(port: int) -> None:
    with Client(port) as client:
        client.handshake()
        text = "añb€c".encode()  # split inside multi-byte characters
        client.send(frame(TEXT, text[:2], fin=False))
        client.send(frame(PING, b"between"))
        client.send(frame(0, text[2:5], fin=False))
        client.send(frame(0, text[5:]))
        assert client.frame() == (True, PONG, b"between")
        assert client.message() == text
        client.send(
            frame(BINARY, b"\x01", fin=False) + frame(0, b"", fin=False) + frame(0, b"\x02")
        )
        assert client.message() == b"\x01\x02"


def test_ping_gets_a_pong_with_the_same_payload(port: int) -> None:
    with Client(port) as client:
        client.handshake()
        client.send(frame(PING, b"x" * 125))
        assert client.frame() == (True, PONG, b"x" * 125)
        client.send(frame(PONG, b"unsolicited"))  # ignored
        client.send(frame(TEXT, b"after"))
        assert client.message() == b"after"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (frame(TEXT, b"plain", masked=False), 1002),
        (frame(TEXT, b"x", rsv=4), 1002),  # RSV1 without permessage-deflate
        (frame(TEXT, b"x", rsv=1), 1002),
        (frame(3, b"x"), 1002),  # reserved data opcode
        (frame(0xB, b"x"), 1002),  # reserved control opcode
        (frame(PING, b"x" * 126), 1002),
        (frame(PING, b"x", fin=False), 1002),
        (frame(CLOSE, b"\x03\xe8", fin=False), 1002),
        (frame(0, b"nothing to continue"), 1002),
        (frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"), 1002),
        (frame(TEXT, b"\xff\xfe"), 1007),
        (frame(TEXT, b"\xed\xa0\x80"), 1007),  # a surrogate is not UTF-8
        (frame(TEXT, "é".encode()[:1]), 1007),  # cut in the middle of a character
        (frame(TEXT, b"ok", fin=False) + frame(0, b"\xc3\x28"), 1007),
        (frame(TEXT, "é".encode()[:1], fin=False) + frame(0, b""), 1007),
        (frame(CLOSE, b"\x03"), 1002),
        (frame(CLOSE, (1005).to_bytes(2, "big")), 1002),
        (frame(CLOSE, (999).to_bytes(2, "big")), 1002),
        (frame(CLOSE, (1000).to_bytes(2, "big") + b"\xff"), 1007),
        (frame(BINARY, length=MAX_SIZE + 1), 1009),  # refused from its header alone
        (frame(BINARY, b"x" * 3000, fin=False) + frame(0, b"x" * 3000), 1009),
        (frame(TEXT, length=1 << 63), 1002),
    ],
)
def test_protocol_violations_fail_the_connection(
    port: int, echo: EchoApp, data: bytes, code: int
) -> None:
    with Client(port) as client:
        client.handshake()
        client.send(data)
        assert client.closed_with()[0] == code
    assert echo.wait_disconnect()["code"] == code
    assert_serving(port)


# -- closing -----------------------------------------------------------------------------------


def test_client_close_is_echoed_and_reported(port: int, echo: EchoApp) -> None:
    with Client(port) as client:
        client.handshake()
        client.send(frame(CLOSE, (4001).to_bytes(2, "big") + b"done"))
        assert client.closed_with() == (4001, "done")
    assert echo.wait_disconnect() == {
        "type": "websocket.disconnect",
        "code": 4001,
        "reason": "done",
    }
    with Client(port) as client:
        client.handshake()
        client.send(frame(CLOSE))
        assert client.closed_with() == (1005, "")
    assert echo.wait_disconnect(2)["code"] == 1005


def test_server_close_waits_for_the_echo(port: int, echo: EchoApp) -> None:
    with Client(port) as client:
        client.handshake("/close")
        while True:
            _, opcode, payload = client.frame()
            if opcode == CLOSE:
                break
        assert payload == (4000).to_bytes(2, "big") + b"bye"
        assert echo.wait_disconnect()["code"] == 4000
        client.sock.settimeout(0.2)
        with pytest.raises(TimeoutError):  # still open: the server waits for our answer
            client.sock.recv(1)
        client.sock.settimeout(5)
        client.send(frame(CLOSE, payload))
        assert client.ended()
    assert_serving(port)


def test_server_close_gives_up_after_the_close_timeout(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_protocol, "CLOSE_TIMEOUT", 0.2)
    with Client(port) as client:
        client.handshake("/close")
        started = time.monotonic()
        assert client.closed_with(answer=False) == (4000, "bye")  # closed anyway
        assert time.monotonic() - started < 3


def test_abrupt_disconnect_is_1006(port: int, echo: EchoApp) -> None:
    with Client(port) as client:
        client.handshake()
        client.send(frame(TEXT, b"half", fin=False))
    assert echo.wait_disconnect()["code"] == 1006
    assert_serving(port)


def test_server_stop_closes_with_1012(echo: EchoApp) -> None:
    engine = UvicornEngine()
    with serve_asgi_in_thread(echo, engine=engine) as url:
        client = Client(int(url.rsplit(":", 1)[1]))
        client.handshake()
    with client:  # the server is gone; what it said last is waiting in our socket
        assert client.closed_with() == (1012, "server shutting down")
    assert echo.wait_disconnect()["code"] == 1012


# -- keepalive ---------------------------------------------------------------------------------


def test_keepalive_pings_and_closes_a_silent_client(echo: EchoApp) -> None:
    engine = UvicornEngine(ws_ping_interval=0.1, ws_ping_timeout=0.3)
    with serve_asgi_in_thread(echo, engine=engine) as url:
        port = int(url.rsplit(":", 1)[1])
        with Client(port) as answering, Client(port) as silent:
            answering.handshake()
            silent.handshake()
            for _ in range(3):  # answered pings keep the connection open
                _, opcode, payload = answering.frame()
                assert opcode == PING and len(payload) == 4
                answering.send(frame(PONG, payload))
            assert silent.frame()[1] == PING
            assert silent.closed_with() == (1011, "keepalive ping timeout")
            answering.send(frame(TEXT, b"alive"))
            while (frame_ := answering.frame())[1] == PING:
                answering.send(frame(PONG, frame_[2]))
            assert frame_[2] == b"alive"


# -- back pressure -----------------------------------------------------------------------------

PUSHES, PUSH_SIZE = 600, 32 * 1024


@ws_controller("")
class Flood:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    reports: ClassVar[list[dict[str, int]]] = []

    @message_mapping("flood")
    def flood(self, conn: Connection) -> None:
        payload = "y" * PUSH_SIZE
        for _ in range(PUSHES):
            conn.push(payload)
        protocol: Any = getattr(conn._send, "__self__", None)  # type: ignore[attr-defined]
        transport = getattr(protocol, "transport", None)  # Uvicorn's protocols only
        buffered = -1 if transport is None else transport.get_write_buffer_size()
        # not a reply: that would wait in the same full queue, and be dropped as well
        self.reports.append({"buffered": buffered, "dropped": conn.dropped})

    @message_mapping("echo")
    def echo(self, data: str) -> str:
        return data


@ws_module("/flood", controllers=[Flood], parser="token")
class FloodModule:
    pass


@pytest.mark.parametrize("engine", ["swoop", "wsproto", "hypercorn"])
def test_a_client_that_stops_reading_costs_bounded_memory(engine: str) -> None:
    """Also on the other engines: a push that waits for the client must be delivered later
    (a hand-stepped send once lost it, and the queue behind it, on every engine)."""
    Flood.reports.clear()
    config = {"ws": {"ping_interval": 0, "send_queue_size": 8, "slow_client_drops": 0}}
    app = Application.from_classes(
        FloodModule, Flood, extensions=[WebSocketExtension()], config=config
    )
    options = EngineOptions(graceful_timeout=1.0)
    chosen = "hypercorn" if engine == "hypercorn" else UvicornEngine(ws_protocol=engine)
    with serve_asgi_in_thread(ws_asgi_app(app), engine=chosen, options=options) as url:
        port = int(url.rsplit(":", 1)[1])
        with Client(port, rcvbuf=4096) as slow:
            slow.handshake("/flood")
            slow.send(frame(TEXT, b"flood:"))  # ~19 MiB pushed at a client that reads nothing
            time.sleep(0.5)
            with Client(port) as other:  # the worker still serves others meanwhile
                other.handshake("/flood")
                other.send(frame(TEXT, b"echo:hi"))
                assert other.message() == b"echo:hi"
            received = 0
            slow.sock.settimeout(1)
            with pytest.raises(TimeoutError):  # now read: only what got through arrives
                while True:
                    assert slow.message() == b"y" * PUSH_SIZE
                    received += 1
        (report,) = Flood.reports
        assert report["dropped"] > PUSHES // 2
        assert received + report["dropped"] == PUSHES
        # the transport holds about one high-water mark, not the 19 MiB that were pushed
        assert report["buffered"] < 8 * PUSH_SIZE + 256 * 1024
        assert app.extension(WebSocketExtension).gateway.stats.dropped == report["dropped"]


# -- fuzzing -----------------------------------------------------------------------------------

frames = st.builds(
    frame,
    st.integers(0, 15),
    st.binary(max_size=200),
    fin=st.booleans(),
    masked=st.booleans() | st.just(True),
    rsv=st.integers(0, 7) | st.just(0),
)
garbage = st.lists(frames | st.binary(min_size=1, max_size=64), min_size=1, max_size=6)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunks=garbage)
def test_random_bytes_never_crash_the_worker(
    port: int, caplog: pytest.LogCaptureFixture, chunks: list[bytes]
) -> None:
    with caplog.at_level(logging.WARNING), Client(port) as bystander:
        bystander.handshake()
        with Client(port) as client:
            client.handshake()
            client.sock.settimeout(0.2)
            try:
                for chunk in chunks:
                    client.send(chunk)
                while client._fill():
                    pass
            except (TimeoutError, OSError):
                pass
        bystander.send(frame(TEXT, b"unharmed"))
        while (got := bystander.frame())[1] != TEXT:
            pass
        assert got[2] == b"unharmed"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
