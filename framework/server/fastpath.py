"""Frames written straight to the engine's transport, when the engine allows it safely.

A WebSocket data frame from a server is the same bytes for every client (servers do not
mask), so a broadcast can build it once and write it to each socket, instead of asking the
engine to serialise the same message once per client.

This needs the engine's transport, which ASGI does not expose. :func:`direct_writer` looks
at the protocol behind the ASGI ``send`` callable:

- Swoop's own protocol for Uvicorn (:class:`~framework.server.ws_protocol.WebSocketProtocol`)
  has such a writer, :meth:`~framework.server.ws_protocol.WebSocketProtocol.write_frame`;
- Hypercorn's HTTP/1.1 ``WSStream`` runs on the connection of Swoop's hypercorn driver
  (:class:`~framework.server.hypercorn_connection.HypercornConnection`), whose
  ``write_frame`` writes only while no write of the engine's own waits for the client to
  drain (the transport is below its 64 KiB high-water mark), so frames keep their order;
- Uvicorn's ``WSProtocol`` (wsproto) gets a writer built here. Frames are never compressed
  (RSV1 clear), which is valid also when permessage-deflate was negotiated, and never
  fragmented, so wsproto's sending state is not affected.

Both writers refuse (return ``False``) whenever the ASGI path must be used instead: before
the handshake completes, once a close was sent, or while the transport is paused for flow
control. For any other engine (or another Uvicorn version without these attributes)
:func:`direct_writer` returns ``None`` and every frame goes through ASGI ``send``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["DirectWrite", "direct_writer", "encode_frame"]

DirectWrite = Callable[[bytes], bool]

_UVICORN_WSPROTO = ("uvicorn.protocols.websockets.wsproto_impl", "WSProtocol")
_HYPERCORN_WS = ("hypercorn.protocol.ws_stream", "WSStream")
_HYPERCORN_H11 = ("hypercorn.protocol.h11", "H11Protocol")


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
    from framework.server.ws_protocol import WebSocketProtocol  # imports fastpath itself

    if isinstance(protocol, WebSocketProtocol):
        return protocol.write_frame
    if _named(protocol, _HYPERCORN_WS):
        return _hypercorn_writer(protocol)
    if not _named(protocol, _UVICORN_WSPROTO):
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


def _named(obj: Any, name: tuple[str, str]) -> bool:
    kind = type(obj)
    return (kind.__module__, kind.__name__) == name


def _hypercorn_writer(stream: Any) -> DirectWrite | None:
    """Hypercorn's HTTP/1.1 WebSocket stream: ``WSStream.send`` -> ``H11Protocol.stream_send``
    -> the connection of Swoop's driver (:mod:`framework.server.hypercorn_connection`),
    whose ``write_frame`` writes straight to its transport only while the stream is connected
    and not closed and no write of the engine's own waits for the client to drain (the
    transport is below its 64 KiB high-water mark), so frames keep their order."""
    try:
        from framework.server.hypercorn_connection import HypercornConnection

        h11 = stream.send.__self__
        connection = h11.send.__self__
    except (AttributeError, ImportError):
        return None
    if not (_named(h11, _HYPERCORN_H11) and isinstance(connection, HypercornConnection)):
        return None
    return connection.write_frame
