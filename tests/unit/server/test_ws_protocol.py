"""Swoop's WebSocket protocol without a server: handshake checks, frame helpers, engine option."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from uvicorn.config import Config
from uvicorn.server import ServerState

from framework.server.engine import EngineUnavailableError
from framework.server.fastpath import direct_writer
from framework.server.uvicorn_engine import UvicornEngine
from framework.server.ws_protocol import WebSocketProtocol
from framework.server.ws_wire import (
    HandshakeError,
    check_upgrade,
    close_frame,
    http_response,
    parse_close,
    parse_request,
    unmask,
)

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
GOOD = [
    (b"host", b"example.com"),
    (b"upgrade", b"websocket"),
    (b"connection", b"Upgrade"),
    (b"sec-websocket-key", KEY),
    (b"sec-websocket-version", b"13"),
]


def without(name: bytes) -> list[tuple[bytes, bytes]]:
    return [(n, v) for n, v in GOOD if n != name]


def replaced(name: bytes, value: bytes) -> list[tuple[bytes, bytes]]:
    return [*without(name), (name, value)]


def test_accept_value_is_the_rfc_example() -> None:
    # RFC 6455 §1.3: this key gives s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
    accept, offered = check_upgrade("GET", "HTTP/1.1", GOOD)
    assert accept == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert offered == []


def test_tokens_are_case_insensitive_lists_and_subprotocols_are_split() -> None:
    headers = [
        *replaced(b"connection", b"keep-alive, UPGRADE"),
        (b"sec-websocket-protocol", b"chat, superchat"),
        (b"sec-websocket-protocol", b"v3"),
    ]
    headers = [(n, b"WebSocket" if n == b"upgrade" else v) for n, v in headers]
    assert check_upgrade("GET", "HTTP/1.1", headers)[1] == ["chat", "superchat", "v3"]


@pytest.mark.parametrize(
    ("method", "version", "headers", "status", "words"),
    [
        ("POST", "HTTP/1.1", GOOD, 400, "must use GET"),
        ("GET", "HTTP/1.0", GOOD, 400, "HTTP/1.1"),
        ("GET", "HTTP/1.1", without(b"host"), 400, "Host"),
        ("GET", "HTTP/1.1", without(b"upgrade"), 400, "Upgrade: websocket"),
        ("GET", "HTTP/1.1", replaced(b"upgrade", b"h2c"), 400, "Upgrade: websocket"),
        ("GET", "HTTP/1.1", without(b"connection"), 400, "Connection: upgrade"),
        ("GET", "HTTP/1.1", replaced(b"connection", b"close"), 400, "Connection: upgrade"),
        ("GET", "HTTP/1.1", without(b"sec-websocket-key"), 400, "Sec-WebSocket-Key"),
        ("GET", "HTTP/1.1", [*GOOD, (b"sec-websocket-key", KEY)], 400, "one Sec-WebSocket-Key"),
        ("GET", "HTTP/1.1", replaced(b"sec-websocket-key", b"short"), 400, "16 bytes"),
        ("GET", "HTTP/1.1", replaced(b"sec-websocket-key", b"!!!!"), 400, "16 bytes"),
        ("GET", "HTTP/1.1", without(b"sec-websocket-version"), 426, "version"),
        ("GET", "HTTP/1.1", replaced(b"sec-websocket-version", b"8"), 426, "version"),
    ],
)
def test_bad_upgrades_are_refused_with_a_reason(
    method: str, version: str, headers: list[tuple[bytes, bytes]], status: int, words: str
) -> None:
    with pytest.raises(HandshakeError) as refused:
        check_upgrade(method, version, headers)
    assert refused.value.status == status
    assert words in refused.value.reason
    if status == 426:  # RFC 6455 §4.4: name the versions we speak
        assert refused.value.headers == b"sec-websocket-version: 13\r\n"


def test_parse_request_lowercases_names_and_strips_values() -> None:
    head = b"GET /chat?x=1 HTTP/1.1\r\nHost: a\r\nX-Thing:  v \r\nUpgrade:websocket"
    method, target, version, headers = parse_request(head)
    assert (method, target, version) == ("GET", "/chat?x=1", "HTTP/1.1")
    assert headers == [(b"host", b"a"), (b"x-thing", b"v"), (b"upgrade", b"websocket")]


@pytest.mark.parametrize(
    "head",
    [
        b"GET /\r\nHost: a",
        b"GET / HTTP/1.1 extra\r\nHost: a",
        b"GET / HTTP/1.1\r\nno colon here",
        b"GET / HTTP/1.1\r\n: empty name",
        b"GET / HTTP/1.1\r\n folded: header",
        b"GET /\xff HTTP/1.1\r\nHost: a",
    ],
)
def test_malformed_heads_are_400(head: bytes) -> None:
    with pytest.raises(HandshakeError) as refused:
        parse_request(head)
    assert refused.value.status == 400


def test_shared_header_pairs_are_one_object_across_requests() -> None:
    head = b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: " + KEY
    first, second = parse_request(head)[3], parse_request(head)[3]
    assert first[0] is second[0]  # the same for every client: kept once
    assert first[1] is not second[1]  # the key is never shared


@given(st.binary(max_size=300))
def test_arbitrary_heads_parse_or_raise_handshake_error(head: bytes) -> None:
    try:
        method, _, version, headers = parse_request(head)
        check_upgrade(method, version, headers)
    except HandshakeError as error:
        assert 400 <= error.status < 500 and error.reason


@given(st.binary(max_size=200), st.binary(min_size=4, max_size=4))
def test_unmask_is_its_own_inverse(data: bytes, mask: bytes) -> None:
    masked = unmask(data, mask)
    assert len(masked) == len(data)
    assert unmask(masked, mask) == data
    assert masked == bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def test_close_frames() -> None:
    assert close_frame(1005) == b"\x88\x00"
    assert close_frame(1000, "bye") == b"\x88\x05\x03\xe8bye"
    long = close_frame(4000, "é" * 100)  # 200 bytes of reason: cut on a character boundary
    assert len(long) <= 127
    assert parse_close(long[2:]) == (4000, "é" * 61)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\x03", 1002),
        ((999).to_bytes(2, "big"), 1002),
        ((1005).to_bytes(2, "big"), 1002),
        ((1006).to_bytes(2, "big"), 1002),
        ((2000).to_bytes(2, "big"), 1002),
        ((5000).to_bytes(2, "big"), 1002),
        ((1000).to_bytes(2, "big") + b"\xff", 1007),
    ],
)
def test_invalid_close_payloads(payload: bytes, code: int) -> None:
    with pytest.raises(Exception) as failed:
        parse_close(payload)
    assert getattr(failed.value, "code", None) == code


def test_valid_close_payloads() -> None:
    assert parse_close(b"") == (1005, "")
    assert parse_close((3000).to_bytes(2, "big") + "ok é".encode()) == (3000, "ok é")


def test_http_response_is_complete_and_closes() -> None:
    response = http_response(426, "use 13", b"sec-websocket-version: 13\r\n")
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
    assert b"connection: close" in head and b"sec-websocket-version: 13" in head
    assert b"content-length: 6" in head and body == b"use 13"


def test_accept_matches_the_rfc_formula() -> None:
    key = base64.b64encode(bytes(range(16)))
    headers = replaced(b"sec-websocket-key", key)
    expected = base64.b64encode(
        hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
    )
    assert check_upgrade("GET", "HTTP/1.1", headers)[0] == expected


def test_an_unknown_ws_protocol_names_the_choices() -> None:
    with pytest.raises(EngineUnavailableError, match="choose one of 'swoop', 'wsproto'"):
        UvicornEngine(ws_protocol="websockets")


async def _app(scope: Any, receive: Any, send: Any) -> None:
    pass


def test_the_fast_path_writes_through_the_protocol_itself() -> None:
    protocol = WebSocketProtocol(Config(_app), ServerState(), {})
    assert direct_writer(protocol.send) == protocol.write_frame
    assert protocol.write_frame(b"\x81\x00") is False  # no handshake yet: the ASGI path
    assert not hasattr(protocol, "__dict__")  # slots only: idle connections stay small
