"""The link between a gateway and a business worker (sans-IO): packets and their fields.

A link is a Unix stream socket (``runtime/ws-gw-<n>.sock``, one per gateway) that every
business worker connects to. Its packets are the bus's (:mod:`framework.bus.protocol`):
``u32 length`` + ``u32 header length`` + a JSON header whose ``"t"`` names the type + a
binary payload (a WebSocket frame or an HTTP body chunk, never base64). ``c`` is a client
id, ``s`` the gateway's sequence number of an event, ``h`` the number of an HTTP exchange.

Gateway -> business worker:

=========== ================================== ===========================================
``t``       header                             meaning
=========== ================================== ===========================================
welcome     ``gateway prefix``                 the answer to hello (client id prefix)
hs          ``c s scope``                      a handshake: answer accept or deny
open        ``c s`` [``scope state``]          run ``@on_open``, then done
msg         ``c s`` [``b scope state``]        a message (payload; ``b``: binary), then done
close       ``c s code reason`` [...]          run ``@on_close``, forget the client, done
drop        ``c``                              forget the client (refused after accept)
draining    --                                 the drain was seen: no new events
drained     --                                 nothing of this worker is in flight any more
bye         --                                 the gateway stops (then the link closes)
reply       ``id ok value`` / ``id ok error``  the answer to a req
http        ``h scope more``                   an HTTP request (payload: first body chunk)
hbody       ``h more``                         more of the request body
habort      ``h``                              the client went away
hack        ``h``                              a response chunk was written: send more
=========== ================================== ===========================================

``scope`` (and ``state``: ``session uid groups``) on open/msg/close is an *adopt*: the
first event of a client on this worker, which builds the connection without a handshake.

Business worker -> gateway:

=========== ================================== ===========================================
hello       ``worker pid``                     first packet
ready       --                                 assign new clients to this worker
drain       --                                 send no new events (a reload retires it)
accept      ``c s session module`` [``ping``]  the handshake passed (payload: ping frame)
deny        ``c s status reason``              refuse the handshake with an HTTP status
done        ``c s`` [``set del r gone``]       the event finished: session changes, the
                                               last reply (payload; ``r``: 1 text, 2
                                               binary), ``gone``: no module at the path
out         ``c`` [``b reply``]                a frame for the client
end         ``c code reason`` [``abort``]      close the client
deliver     as :mod:`framework.bus.protocol`   a Gateway API delivery to this gateway
req         ``id kind op args``                a Gateway API change or query
hstart      ``h status headers``               the HTTP response starts
hbody       ``h more`` [``abort``]             a response body chunk (at most 64 KiB)
=========== ================================== ===========================================

Malformed packets raise :class:`~framework.bus.errors.ProtocolError`; the side that reads
one closes the link (the other side reconnects).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from framework.bus.errors import ProtocolError
from framework.bus.protocol import MAX_PACKET, Packet, PacketDecoder, encode

__all__ = [
    "CHUNK",
    "MAX_FRAME",
    "MAX_PACKET",
    "Packet",
    "PacketDecoder",
    "ProtocolError",
    "client_id",
    "encode",
    "encode_frame",
    "fits",
    "frame_of",
    "integer",
    "scope_from_wire",
    "scope_to_wire",
    "text",
]

#: The largest HTTP body chunk one packet carries.
CHUNK = 64 * 1024
#: The largest WebSocket frame a link carries (a packet's header must fit beside it).
MAX_FRAME = MAX_PACKET - 1024 * 1024

_STRINGS = ("type", "http_version", "method", "scheme", "path", "root_path")
_LATIN = ("raw_path", "query_string")


def encode_frame(header: dict[str, Any], frame: str | bytes) -> bytes:
    """A packet carrying a WebSocket frame: text is sent as UTF-8, binary flagged ``b``."""
    if isinstance(frame, str):
        return encode(header, frame.encode())
    header["b"] = 1
    return encode(header, frame)


def fits(frame: str | bytes) -> bool:
    """Whether a frame fits in a link packet (:data:`MAX_FRAME` bytes)."""
    size = len(frame)
    if size <= MAX_FRAME // 4:  # the usual case, whatever the encoding
        return True
    return (len(frame.encode()) if isinstance(frame, str) else size) <= MAX_FRAME


def frame_of(packet: Packet, flag: str = "b") -> str | bytes:
    """The frame a packet carries (binary when ``header[flag]`` is set).

    Raises:
        ProtocolError: a text frame that is not UTF-8.
    """
    if packet.header.get(flag):
        return packet.payload
    try:
        return packet.payload.decode()
    except UnicodeDecodeError:
        raise ProtocolError("text frame is not UTF-8") from None


def text(header: Mapping[str, Any], key: str) -> str:
    """``header[key]``, a string.

    Raises:
        ProtocolError: missing or not a string.
    """
    value = header.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"link packet {header.get('t')!r}: {key!r} must be a string")
    return value


def integer(header: Mapping[str, Any], key: str) -> int:
    """``header[key]``, an integer.

    Raises:
        ProtocolError: missing or not an integer.
    """
    value = header.get(key)
    if type(value) is not int:
        raise ProtocolError(f"link packet {header.get('t')!r}: {key!r} must be an integer")
    return value


def client_id(header: Mapping[str, Any]) -> str:
    """The client id ``c`` of a packet.

    Raises:
        ProtocolError: missing or not a string.
    """
    return text(header, "c")


def scope_to_wire(scope: Mapping[str, Any]) -> dict[str, Any]:
    """An HTTP or WebSocket ASGI scope as JSON values (bytes as latin-1 strings).

    Only what an application reads crosses: the request line, headers, client and server
    addresses, subprotocols. Engine extensions and lifespan state stay behind.
    """
    wire: dict[str, Any] = {k: scope[k] for k in _STRINGS if k in scope}
    for key in _LATIN:
        value = scope.get(key)
        if value is not None:
            wire[key] = bytes(value).decode("latin-1")
    wire["headers"] = [
        [bytes(k).decode("latin-1"), bytes(v).decode("latin-1")]
        for k, v in scope.get("headers", ())
    ]
    for key in ("client", "server"):
        address = scope.get(key)
        wire[key] = None if address is None else [str(address[0]), address[1]]
    if scope.get("subprotocols"):
        wire["subprotocols"] = [str(p) for p in scope["subprotocols"]]
    return wire


def scope_from_wire(wire: Any) -> dict[str, Any]:
    """The ASGI scope :func:`scope_to_wire` made.

    Raises:
        ProtocolError: not an object of the expected fields and types.
    """
    if not isinstance(wire, dict) or wire.get("type") not in ("http", "websocket"):
        raise ProtocolError("link scope must be an object with type 'http' or 'websocket'")
    scope: dict[str, Any] = {"asgi": {"version": "3.0", "spec_version": "2.3"}, "extensions": {}}
    for key in _STRINGS:
        if key in wire:
            scope[key] = text(wire, key)
    if not isinstance(scope.get("path"), str):
        raise ProtocolError("link scope has no path")
    for key in _LATIN:
        scope[key] = _latin(wire, key) if key in wire else b""
    scope["headers"] = [(_latin1(k), _latin1(v)) for k, v in _pairs(wire.get("headers"))]
    for key in ("client", "server"):
        scope[key] = _address(wire.get(key))
    protocols = wire.get("subprotocols", [])
    if not isinstance(protocols, list) or not all(isinstance(p, str) for p in protocols):
        raise ProtocolError("link scope: subprotocols must be a list of strings")
    if scope["type"] == "websocket":
        scope["subprotocols"] = protocols
    return scope


def _latin(wire: Mapping[str, Any], key: str) -> bytes:
    return _latin1(text(wire, key))


def _latin1(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ProtocolError("link scope: header names and values must be strings")
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise ProtocolError("link scope: a header is not latin-1") from None


def _pairs(value: Any) -> Iterable[tuple[Any, Any]]:
    if not isinstance(value, list) or not all(
        isinstance(pair, list) and len(pair) == 2 for pair in value
    ):
        raise ProtocolError("link scope: headers must be a list of [name, value] pairs")
    return [(pair[0], pair[1]) for pair in value]


def _address(value: Any) -> tuple[str, int | None] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], str)
        or not (value[1] is None or type(value[1]) is int)
    ):
        raise ProtocolError("link scope: an address must be [host, port]")
    return (value[0], value[1])
