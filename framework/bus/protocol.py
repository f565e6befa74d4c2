"""The bus wire format (sans-IO): packets of a JSON header and a binary payload.

On a stream (the hub's Unix socket) each packet is ``u32 length`` + body; on Redis each
published message is one body. A body is ``u32 header length`` + header + payload, all
lengths big-endian. The header is a JSON object whose ``"t"`` names the packet type; the
payload carries what must not go through JSON: the WebSocket frame of a delivery (sent
as is, so a fan-out encodes once) or a bulk snapshot.

========== =================================== =============================================
``t``      header                              meaning
========== =================================== =============================================
hello      ``worker`` (key or null)            first packet of a worker (payload: its
                                               snapshot) or of a push client (no worker)
deliver    ``target keys exclude b origin``    send the payload to targets (``b``: binary)
index      ``op args`` [``id``]                a worker's state changed (``open gone bind
                                               unbind join leave``); with ``id``: ack it
req        ``id kind op args`` [``reply_to``]  a Change (``kind: "change"``) or Query to be
                                               answered with ``reply`` (same ``id``)
reply      ``id ok value`` / ``id ok error``   the answer to a ``req``
ungroup    ``group``                           dissolve a group locally (hub -> worker)
ping       ``origin seq``                      the Redis subscription watchdog's probe
========== =================================== =============================================
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from framework.bus.errors import ProtocolError
from framework.websocket.bus import Delivery, Target

__all__ = [
    "MAX_PACKET",
    "Packet",
    "PacketDecoder",
    "decode_body",
    "delivery_body",
    "delivery_from",
    "encode",
    "encode_body",
    "frame",
]

#: The largest packet body accepted (a snapshot of ~500,000 connections fits).
MAX_PACKET = 64 * 1024 * 1024

_U32 = struct.Struct(">I")
_TARGETS = {t.value: t for t in Target}


@dataclass(frozen=True, slots=True)
class Packet:
    """One decoded packet."""

    header: dict[str, Any]
    payload: bytes = field(default=b"")
    raw: bytes = field(default=b"", repr=False)  # the whole body, to forward it unchanged

    @property
    def type(self) -> str:
        return str(self.header["t"])


def encode_body(header: dict[str, Any], payload: bytes = b"") -> bytes:
    """A packet body (what Redis carries).

    Raises:
        TypeError: the header holds a value JSON cannot carry.
    """
    head = orjson.dumps(header)
    return _U32.pack(len(head)) + head + payload


def frame(body: bytes) -> bytes:
    """A body framed for a stream."""
    return _U32.pack(len(body)) + body


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    """A packet framed for a stream (the hub socket)."""
    return frame(encode_body(header, payload))


def decode_body(body: bytes) -> Packet:
    """Parse one packet body.

    Raises:
        ProtocolError: the body is truncated, or its header is not a JSON object with a
            string ``"t"``.
    """
    if len(body) < 4:
        raise ProtocolError(f"bus packet of {len(body)} bytes is shorter than its header length")
    (size,) = _U32.unpack_from(body)
    if size > len(body) - 4:
        raise ProtocolError(f"bus packet header of {size} bytes overruns its body")
    try:
        header = orjson.loads(body[4 : 4 + size])
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"bus packet header is not JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("t"), str):
        raise ProtocolError("bus packet header must be a JSON object with a string 't'")
    return Packet(header, body[4 + size :], body)


class PacketDecoder:
    """Feed it bytes from a stream as they arrive; it returns the packets they complete."""

    __slots__ = ("_buffer", "max_packet")

    def __init__(self, max_packet: int = MAX_PACKET) -> None:
        self._buffer = bytearray()
        self.max_packet = max_packet

    def feed(self, data: bytes) -> list[Packet]:
        """Every packet completed by ``data``.

        Raises:
            ProtocolError: a packet is malformed or longer than ``max_packet``; the stream
                cannot be trusted any more and should be closed.
        """
        buffer = self._buffer
        buffer += data
        packets: list[Packet] = []
        start = 0
        while len(buffer) - start >= 4:
            (size,) = _U32.unpack_from(buffer, start)
            if size > self.max_packet:
                raise ProtocolError(f"bus packet of {size} bytes exceeds {self.max_packet}")
            if len(buffer) - start - 4 < size:
                break
            packets.append(decode_body(bytes(buffer[start + 4 : start + 4 + size])))
            start += 4 + size
        del buffer[:start]
        return packets


def delivery_body(delivery: Delivery, origin: str | None) -> bytes:
    """A delivery as a packet body: the frame goes in the payload, encoded once."""
    data = delivery.frame
    header: dict[str, Any] = {
        "t": "deliver",
        "target": delivery.target.value,
        "keys": list(delivery.keys),
        "origin": origin,
    }
    if delivery.exclude:
        header["exclude"] = list(delivery.exclude)
    if isinstance(data, bytes):
        header["b"] = 1
        return encode_body(header, data)
    return encode_body(header, data.encode())


def delivery_from(packet: Packet) -> Delivery:
    """The :class:`Delivery` a ``deliver`` packet carries.

    Raises:
        ProtocolError: a field is missing or of the wrong type.
    """
    header = packet.header
    target = _TARGETS.get(header.get("target"))  # type: ignore[arg-type]
    keys: Any = header.get("keys")
    exclude: Any = header.get("exclude", ())
    if target is None or not _strings(keys) or not _strings(exclude):
        raise ProtocolError(f"bad deliver packet header: {header!r}")
    if header.get("b"):
        data: str | bytes = packet.payload
    else:
        try:
            data = packet.payload.decode()
        except UnicodeDecodeError:
            raise ProtocolError("text delivery payload is not UTF-8") from None
    return Delivery(target, tuple(keys), data, frozenset(exclude))


def _strings(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def strings(value: Any) -> list[str]:
    """``value`` as a list of strings.

    Raises:
        ProtocolError: it is not a list of strings.
    """
    if not _strings(value):
        raise ProtocolError(f"expected a list of strings, got {value!r}")
    return list(value)


def snapshot_payload(entries: Iterable[tuple[str, str | None, list[str]]]) -> bytes:
    """A worker's connections as ``[[client_id, uid, [groups]], ...]`` (a hello payload)."""
    return orjson.dumps([list(entry) for entry in entries])
