"""Frames written straight to the engine's transport, when the engine allows it safely.

A WebSocket data frame from a server is the same bytes for every client (servers do not
mask), so a broadcast can build it once and write it to each socket, instead of asking the
engine to serialise the same message once per client. That halves the cost of a delivery
on Uvicorn's wsproto protocol, whose per-message serialisation is pure Python.

This needs the engine's transport, which ASGI does not expose. :func:`direct_writer`
recognises Uvicorn's ``WSProtocol`` behind the ASGI ``send`` callable and returns a writer
that refuses (returns ``False``) whenever the ASGI path must be used instead: before the
handshake completes, once a close was sent, or while the transport is paused for flow
control. Frames are never compressed (RSV1 clear), which is valid also when
permessage-deflate was negotiated, and never fragmented, so wsproto's sending state is not
affected. For any other engine (or another Uvicorn version without these attributes) it
returns ``None`` and every frame goes through ASGI ``send``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["DirectWrite", "direct_writer", "encode_frame"]

DirectWrite = Callable[[bytes], bool]

_UVICORN_WSPROTO = ("uvicorn.protocols.websockets.wsproto_impl", "WSProtocol")


def encode_frame(payload: str | bytes) -> bytes:
    """A complete, unmasked, unfragmented server frame: text for ``str``, binary for bytes."""
    if isinstance(payload, str):
        data, head = payload.encode(), 0x81
    else:
        data, head = bytes(payload), 0x82
    size = len(data)
    if size < 126:
        return bytes((head, size)) + data
    if size < 65536:
        return bytes((head, 126)) + size.to_bytes(2, "big") + data
    return bytes((head, 127)) + size.to_bytes(8, "big") + data


def direct_writer(send: Any) -> DirectWrite | None:
    """A writer of encoded frames for the connection behind ``send``, or ``None``."""
    protocol: Any = getattr(send, "__self__", None)
    kind = type(protocol)
    if (kind.__module__, kind.__name__) != _UVICORN_WSPROTO:
        return None
    try:
        transport, writable = protocol.transport, protocol.writable
        protocol.close_sent  # noqa: B018  (the attributes the writer relies on)
        protocol.handshake_complete  # noqa: B018
    except AttributeError:
        return None
    is_set, is_closing, write = writable.is_set, transport.is_closing, transport.write

    def write_frame(frame: bytes) -> bool:
        if protocol.close_sent or not protocol.handshake_complete:
            return False
        if not is_set() or is_closing():
            return False
        write(frame)
        return True

    return write_frame
