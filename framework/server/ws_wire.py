"""The sans-IO half of :mod:`.ws_protocol`: RFC 6455 handshake checks, frames and close
payloads, with no transport and no event loop (so they are tested on bytes alone)."""

from __future__ import annotations

import base64
import codecs
import hashlib
from http import HTTPStatus
from typing import Any

__all__ = [
    "BINARY",
    "CLOSE",
    "CLOSED",
    "CLOSING",
    "DENYING",
    "EXTENSIONS",
    "HANDSHAKE",
    "MAX_EARLY",
    "MAX_REQUEST",
    "OPEN",
    "PING",
    "PONG",
    "REQUEST",
    "TEXT",
    "UNSENDABLE",
    "ClientDisconnectedError",
    "Failure",
    "Fragments",
    "HandshakeError",
    "check_upgrade",
    "close_frame",
    "control_frame",
    "http_response",
    "parse_close",
    "parse_request",
    "share",
    "shared_addresses",
    "status_line",
    "unmask",
]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_REQUEST = 64 * 1024  # request head handed over by the HTTP protocol, already bounded there
MAX_EARLY = 64 * 1024  # bytes a client may send before the handshake answer (it should not)

# Connection states, in the order they are reached; DENYING is the handshake's HTTP answer.
REQUEST, HANDSHAKE, DENYING, OPEN, CLOSING, CLOSED = range(6)

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA

# The parts of every scope that never change: one object shared by all connections.
EXTENSIONS: dict[str, Any] = {"websocket.http.response": {}}

UNSENDABLE = frozenset({1004, 1005, 1006, 1015})

# Headers whose value is usually the same for every client of a site: one (name, value)
# tuple is kept for each pair seen and shared by all the scopes that have it (an idle
# connection keeps its scope). Never for headers that carry secrets (cookie, tokens).
_SHARED_HEADERS = frozenset(
    {
        b"host",
        b"upgrade",
        b"connection",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"origin",
        b"user-agent",
        b"accept-encoding",
        b"accept-language",
        b"cache-control",
        b"pragma",
    }
)
_SHARED_LIMIT = 512
_shared_pairs: dict[tuple[bytes, bytes], tuple[bytes, bytes]] = {}
shared_addresses: dict[Any, tuple[str, int] | None] = {}


class ClientDisconnectedError(OSError):
    """``send`` on a connection that is closed or closing: the client cannot receive it."""


class HandshakeError(Exception):
    """An upgrade request that RFC 6455 says to refuse; answered with ``status``."""

    def __init__(self, status: int, reason: str, headers: bytes = b"") -> None:
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers


class Failure(Exception):
    """A protocol violation by the client: the connection is failed with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


# -- the handshake (pure functions) ----------------------------------------------------------


def parse_request(head: bytes) -> tuple[str, str, str, list[tuple[bytes, bytes]]]:
    """Split a request head (without the final blank line) into method, target, HTTP
    version and headers (names lowercased, in order).

    Raises:
        HandshakeError: the head is not an HTTP/1.x request.
    """
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        raise HandshakeError(400, "malformed request line")
    try:
        method, target, version = (p.decode("ascii") for p in parts)
    except UnicodeDecodeError:
        raise HandshakeError(400, "request line is not ASCII") from None
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or b" " in name:
            raise HandshakeError(400, f"malformed header line {line[:40]!r}")
        pair = (name.lower(), value.strip(b" \t"))
        if pair[0] in _SHARED_HEADERS:
            pair = _shared_pairs.get(pair) or share(_shared_pairs, pair, pair)
        headers.append(pair)
    return method, target, version, headers


def share(table: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(table) < _SHARED_LIMIT:
        table[key] = value
    return value


def check_upgrade(
    method: str, version: str, headers: list[tuple[bytes, bytes]]
) -> tuple[bytes, list[str]]:
    """The ``Sec-WebSocket-Accept`` value and the offered subprotocols of a valid upgrade
    request (RFC 6455 §4.2.1).

    Raises:
        HandshakeError: 400 naming the first requirement the request misses; 426 for a
            WebSocket version other than 13.
    """
    if method != "GET":
        raise HandshakeError(400, f"a WebSocket handshake must use GET, not {method}")
    if version != "HTTP/1.1":
        raise HandshakeError(400, f"a WebSocket handshake needs HTTP/1.1, not {version}")
    found: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        found.setdefault(name, []).append(value)
    if b"host" not in found:
        raise HandshakeError(400, "missing Host header")
    if b"websocket" not in _tokens(found.get(b"upgrade")):
        raise HandshakeError(400, "missing 'Upgrade: websocket' header")
    if b"upgrade" not in _tokens(found.get(b"connection")):
        raise HandshakeError(400, "missing 'Connection: upgrade' header")
    versions = found.get(b"sec-websocket-version", [])
    if [v.strip() for v in versions] != [b"13"]:
        raise HandshakeError(
            426, "unsupported WebSocket version, use 13", b"sec-websocket-version: 13\r\n"
        )
    keys = found.get(b"sec-websocket-key", [])
    if len(keys) != 1:
        raise HandshakeError(400, "a WebSocket handshake needs one Sec-WebSocket-Key header")
    key = keys[0].strip()
    try:
        valid = len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        valid = False
    if not valid:
        raise HandshakeError(400, "Sec-WebSocket-Key must be 16 bytes, base64-encoded")
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    offered = [p.decode("latin-1") for p in _tokens(found.get(b"sec-websocket-protocol"), False)]
    return accept, offered


def _tokens(values: list[bytes] | None, lower: bool = True) -> list[bytes]:
    tokens = [t.strip() for v in values or () for t in v.split(b",")]
    return [t.lower() if lower else t for t in tokens if t]


def http_response(status: int, reason: str = "", headers: bytes = b"") -> bytes:
    """A complete ``Connection: close`` response with a plain-text ``reason`` as its body."""
    body = reason.encode()
    return (
        status_line(status)
        + b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
        + headers
        + b"content-length: %d\r\n\r\n" % len(body)
        + body
    )


def status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase.encode()
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase)


# -- frames (pure functions) -----------------------------------------------------------------


def unmask(data: bytes | bytearray, mask: bytes | bytearray) -> bytes:
    """``data`` XOR the repeated 4-byte ``mask``, done on two big integers (fast in CPython)."""
    size = len(data)
    if not size:
        return b""
    key = bytes(mask) * (size // 4) + bytes(mask[: size % 4])
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(size, "little")


def control_frame(opcode: int, payload: bytes) -> bytes:
    """An unmasked control frame (payload at most 125 bytes, as the caller guarantees)."""
    return bytes((0x80 | opcode, len(payload))) + payload


def close_frame(code: int, reason: str = "") -> bytes:
    """A close frame; ``1005`` (no code) sends an empty payload. The reason is cut to fit
    the 125-byte limit of control frames, on a character boundary."""
    if code == 1005:
        return control_frame(CLOSE, b"")
    raw = reason.encode()
    if len(raw) > 123:
        raw = raw[:123].decode("utf-8", "ignore").encode()
    return control_frame(CLOSE, code.to_bytes(2, "big") + raw)


def parse_close(payload: bytes) -> tuple[int, str]:
    """Code and reason of a received close frame (1005 when it has no code).

    Raises:
        Failure: a one-byte payload or a code a peer may not send (1002), a reason that is
            not UTF-8 (1007).
    """
    if not payload:
        return 1005, ""
    if len(payload) == 1:
        raise Failure(1002, "close frame with a one-byte payload")
    code = int.from_bytes(payload[:2], "big")
    if code < 1000 or code >= 5000 or code in UNSENDABLE or 1016 <= code < 3000:
        raise Failure(1002, f"invalid close code {code}")
    try:
        return code, payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise Failure(1007, "close reason is not valid UTF-8") from None


class Fragments:
    """A message arriving in fragments: only exists between its first and last frame."""

    __slots__ = ("decoder", "parts", "size")

    def __init__(self, text: bool) -> None:
        self.parts: list[Any] = []
        self.size = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")() if text else None

    def add(self, payload: bytes, final: bool) -> None:
        self.size += len(payload)
        decoder = self.decoder
        if decoder is None:
            self.parts.append(payload)
            return
        try:
            self.parts.append(decoder.decode(payload, final))
        except UnicodeDecodeError:
            raise Failure(1007, "text message is not valid UTF-8") from None

    def message(self) -> dict[str, Any]:
        if self.decoder is None:
            return {"type": "websocket.receive", "bytes": b"".join(self.parts)}
        return {"type": "websocket.receive", "text": "".join(self.parts)}


# -- the protocol ----------------------------------------------------------------------------
