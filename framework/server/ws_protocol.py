"""A lean WebSocket protocol for Uvicorn: RFC 6455 by hand, sized for many idle connections.

Uvicorn's ``wsproto`` protocol keeps, per connection, a wsproto and an h11 state machine, an
``asyncio.Queue``, an ``asyncio.Event`` and an instance ``__dict__``: about 10 KiB before the
application holds anything. An idle connection here is one slotted object, the ASGI scope
and the application's task; the receive side allocates a deque only while messages wait for
the application, and one future only while the application waits for a message. Hence the
``uvicorn`` engine's default (``UvicornEngine(ws_protocol="swoop")``).

What it does, in the order a connection lives:

- **Handshake** (RFC 6455 §4.2.1): Uvicorn's HTTP protocol hands over the request it parsed
  (method, target and headers, re-serialised). A request that is not ``GET`` over
  HTTP/1.1 with ``Host``, ``Upgrade: websocket``, ``Connection: upgrade`` and a
  ``Sec-WebSocket-Key`` of 16 base64-encoded bytes gets ``400`` with the reason in the body;
  a ``Sec-WebSocket-Version`` other than 13 gets ``426`` with ``Sec-WebSocket-Version: 13``
  (§4.4). No extension is negotiated (no permessage-deflate).
- **ASGI**: ``websocket.connect``; the app answers ``websocket.accept`` (``subprotocol``,
  ``headers``), ``websocket.close`` before accepting (403), or the
  ``websocket.http.response`` extension (any status and body). After accepting:
  ``websocket.send`` (``text`` or ``bytes``), ``websocket.close`` (``code``, ``reason``),
  and ``websocket.receive`` / ``websocket.disconnect`` (``code``, ``reason``) in return.
  Once the disconnect was received, ``receive`` keeps returning it; ``send`` raises
  :class:`ClientDisconnectedError` (an ``OSError``, as ASGI 2.4 asks).
- **Frames**: client frames must be masked and use no RSV bit (else close 1002); control
  frames are at most 125 bytes and never fragmented (1002); unknown opcodes are 1002;
  fragmented messages may carry control frames between their fragments; text is UTF-8
  validated as it arrives, also across fragments (1007); a message larger than Uvicorn's
  ``ws_max_size`` closes with 1009 as soon as its header announces it. Pings are answered.
- **Back pressure**: when the transport pauses writing, ``websocket.send`` waits until it
  resumes; :meth:`WebSocketProtocol.write_frame` (the broadcast fast path, see
  :mod:`.fastpath`) refuses instead. When ``ws_max_queue`` messages wait for the app,
  reading stops until it takes them, so a client cannot queue unbounded memory.
- **Closing**: a close from the client is echoed, then the socket is closed. A close from
  the app waits up to ``CLOSE_TIMEOUT`` seconds for the client's echo. When the app
  returns after accepting, the connection is closed with 1000 (1011 if it raised). On
  server stop, open connections are closed with 1012.
- **Keepalive**: only when Uvicorn's ``ws_ping_interval`` is set (Swoop's heartbeat is
  application-level and works on every engine, so the engine turns this off): a ping every
  interval; no matching pong within ``ws_ping_timeout`` closes with 1011.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from framework.server.fastpath import encode_frame
from framework.server.ws_wire import (
    BINARY,
    CLOSE,
    CLOSED,
    CLOSING,
    DENYING,
    EXTENSIONS,
    HANDSHAKE,
    MAX_EARLY,
    MAX_REQUEST,
    OPEN,
    PING,
    PONG,
    REQUEST,
    TEXT,
    UNSENDABLE,
    ClientDisconnectedError,
    Failure,
    Fragments,
    HandshakeError,
    check_upgrade,
    close_frame,
    control_frame,
    http_response,
    parse_close,
    parse_request,
    share,
    shared_addresses,
    status_line,
    unmask,
)

if TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

__all__ = ["CLOSE_TIMEOUT", "ClientDisconnectedError", "HandshakeError", "WebSocketProtocol"]

log = logging.getLogger("uvicorn.error")

CLOSE_TIMEOUT = 10.0
"""Seconds the client gets to answer a close frame before its socket is closed."""


class WebSocketProtocol(asyncio.Protocol):
    """One WebSocket connection on Uvicorn (``uvicorn.Config(ws=WebSocketProtocol)``).

    Uvicorn's HTTP protocol creates it on an upgrade request, calls ``connection_made`` and
    ``data_received`` with the request, then makes it the transport's protocol. See the
    module docs for the behaviour.
    """

    __slots__ = (
        "_buffer",
        "_fragments",
        "_gone",
        "_held",
        "_paused",
        "_queue",
        "_state",
        "_timer",
        "_token",
        "_waiter",
        "_writable",
        "app_state",
        "config",
        "scope",
        "server_state",
        "transport",
    )

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.server_state = server_state
        self.app_state: dict[str, Any] | None = app_state
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.scope: dict[str, Any] | None = None
        self._state = REQUEST
        self._buffer: bytearray | None = None  # bytes not parsed yet; None when empty
        self._queue: deque[dict[str, Any]] | None = None  # messages for the app's receive
        self._waiter: asyncio.Future[None] | None = None  # the app waits in receive
        self._writable: asyncio.Future[None] | None = None  # senders wait for resume_writing
        self._fragments: Fragments | None = None
        self._timer: asyncio.TimerHandle | None = None  # keepalive, then the close timeout
        # Sec-WebSocket-Accept during the handshake, then the payload of an unanswered ping
        self._token: bytes | None = None
        self._paused = False  # the transport paused writing
        self._held = False  # reading paused: ws_max_queue messages wait for the app
        self._gone = False  # websocket.disconnect was queued for the app

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server_state.connections.add(self)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        self._cancel_timer()
        self._buffer = self._fragments = None
        if self._state != REQUEST:
            self._disconnect(1006, "")
        self._state = CLOSED
        self._wake_writers()

    def eof_received(self) -> bool | None:
        return None  # close the transport: a half-closed WebSocket cannot go on

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_writers()

    def data_received(self, data: bytes) -> None:
        state = self._state
        if state == OPEN or state == CLOSING:
            buffer = self._buffer
            if buffer is None:
                self._buffer = bytearray(data)
            else:
                buffer += data
            if not self._held:
                self._parse()
        elif state == REQUEST:
            self._receive_request(data)
        elif state == HANDSHAKE:  # frames sent before our answer: kept for after accept
            buffer = self._buffer
            if buffer is None:
                buffer = self._buffer = bytearray()
            buffer += data
            if len(buffer) > MAX_EARLY:
                self._buffer = None
                self.transport.close()
        # DENYING, CLOSED: nothing the client says matters any more

    def shutdown(self) -> None:
        """The server is stopping (Uvicorn calls this on every connection)."""
        self._cancel_timer()
        state = self._state
        if state == OPEN:
            self.transport.write(close_frame(1012, "server shutting down"))
            self._disconnect(1012, "server shutting down")
        elif state == HANDSHAKE:
            self.transport.write(http_response(503, "server shutting down"))
            self._disconnect(1006, "")
        self._state = CLOSED
        self._buffer = None
        self.transport.close()

    # -- the fast path (framework.server.fastpath) ------------------------------------------

    def write_frame(self, frame: bytes) -> bool:
        """Write an encoded server frame now, or return ``False`` if ``websocket.send``
        must be used: not open, closing, or paused for flow control."""
        if self._state != OPEN or self._paused:
            return False
        transport = self.transport
        if transport.is_closing():
            return False
        transport.write(frame)
        return True

    # -- ASGI -------------------------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        """The next ASGI message for the app (see the module docs)."""
        queue = self._queue
        while queue is None:
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
            queue = self._queue
        message = queue[0]
        if message["type"] == "websocket.disconnect":
            return message  # stays queued: every later receive returns it again
        queue.popleft()
        if not queue:
            self._queue = None
        if self._held and (not queue or len(queue) <= self.config.ws_max_queue // 2):
            self._held = False
            self._parse()
            if not self._held and self._state < CLOSED:
                self.transport.resume_reading()
        return message

    async def send(self, message: dict[str, Any]) -> None:
        """Carry out an ASGI message from the app (see the module docs).

        Raises:
            ClientDisconnectedError: the connection is closing or closed.
            RuntimeError: a message that is not valid in the connection's state.
        """
        kind = message["type"]
        state = self._state
        if state == OPEN:
            if kind == "websocket.send":
                if self._paused:
                    await self._until_writable()
                    if self._state != OPEN:
                        raise ClientDisconnectedError("the WebSocket closed while sending")
                data = message.get("bytes")
                if data is None:
                    data = message.get("text")
                    if data is None:
                        raise RuntimeError("websocket.send needs 'text' or 'bytes'")
                transport = self.transport
                if transport.is_closing():
                    raise ClientDisconnectedError("the WebSocket is closing")
                transport.write(encode_frame(data))
            elif kind == "websocket.close":
                self._close(message.get("code") or 1000, message.get("reason") or "")
            else:
                raise RuntimeError(
                    f"Expected ASGI message 'websocket.send' or 'websocket.close', but got {kind!r}"
                )
        elif state == HANDSHAKE:
            self._answer_handshake(message)
        elif state == DENYING:
            if kind != "websocket.http.response.body":
                raise RuntimeError(
                    f"Expected ASGI message 'websocket.http.response.body', but got {kind!r}"
                )
            self.transport.write(message.get("body", b""))
            if not message.get("more_body", False):
                self._state = CLOSED
                self.transport.close()
        elif kind != "websocket.close":  # a second close is harmless; anything else is lost
            raise ClientDisconnectedError("the WebSocket is closed")

    # -- handshake --------------------------------------------------------------------------

    def _receive_request(self, data: bytes) -> None:
        buffer = self._buffer
        if buffer is not None:
            buffer += data
            data = bytes(buffer)
        end = data.find(b"\r\n\r\n")
        if end < 0:
            if len(data) > MAX_REQUEST:
                self._refuse(HandshakeError(431, "request header fields too large"))
            else:
                self._buffer = bytearray(data)
            return
        self._buffer = bytearray(data[end + 4 :]) if len(data) > end + 4 else None
        try:
            method, target, version, headers = parse_request(data[:end])
            accept, subprotocols = check_upgrade(method, version, headers)
            if not target.startswith("/"):
                raise HandshakeError(400, "the request target must be a path")
        except HandshakeError as error:
            self._refuse(error)
            return
        self._start(target, headers, subprotocols, accept)

    def _refuse(self, error: HandshakeError) -> None:
        log.debug("WebSocket handshake refused (%d): %s", error.status, error.reason)
        self._state = CLOSED
        self._buffer = None
        self.transport.write(http_response(error.status, error.reason, error.headers))
        self.transport.close()

    def _start(
        self, target: str, headers: list[tuple[bytes, bytes]], subprotocols: list[str], key: bytes
    ) -> None:
        config, transport = self.config, self.transport
        raw_path, _, query = target.partition("?")
        root = config.root_path
        self.scope = {
            "type": "websocket",
            "asgi": {"version": config.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "wss" if transport.get_extra_info("sslcontext") else "ws",
            "server": _server_address(transport.get_extra_info("sockname")),
            "client": _address(transport.get_extra_info("peername")),
            "root_path": root,
            "path": root + unquote(raw_path),
            "raw_path": (root + raw_path).encode("ascii"),
            "query_string": query.encode("ascii"),
            "headers": headers,
            "subprotocols": subprotocols,
            "state": self.app_state.copy() if self.app_state else {},
            "extensions": EXTENSIONS,
        }
        self.app_state = None
        self._state = HANDSHAKE
        self._push({"type": "websocket.connect"})
        self._token = key
        task = asyncio.get_running_loop().create_task(self._run())
        tasks = self.server_state.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _answer_handshake(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        transport = self.transport
        if kind == "websocket.accept":
            if transport.is_closing():
                raise ClientDisconnectedError("the client left during the handshake")
            head = [
                b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n"
                b"connection: Upgrade\r\nsec-websocket-accept: %s\r\n" % self._token
            ]
            subprotocol = message.get("subprotocol")
            if subprotocol:
                head.append(b"sec-websocket-protocol: %s\r\n" % subprotocol.encode())
            for name, value in (*self.server_state.default_headers, *message.get("headers", ())):
                head += (name, b": ", value, b"\r\n")
            head.append(b"\r\n")
            transport.write(b"".join(head))
            self._token = None
            self._state = OPEN
            self._access("accepted")
            self._start_keepalive()
            if self._buffer is not None:
                self._parse()
        elif kind == "websocket.close":
            self._access("403")
            self._deny_with(http_response(403, ""))
        elif kind == "websocket.http.response.start":
            status = message["status"]
            if not isinstance(status, int) or not 100 <= status < 600:
                raise RuntimeError(f"Invalid HTTP status code {status!r} in response.")
            self._access(str(status))
            head = [status_line(status)]
            for name, value in (*self.server_state.default_headers, *message.get("headers", ())):
                head += (name, b": ", value, b"\r\n")
            head.append(b"connection: close\r\n\r\n")
            transport.write(b"".join(head))
            self._token = None
            self._state = DENYING
            self._disconnect(1006, "")
        else:
            raise RuntimeError(
                "Expected ASGI message 'websocket.accept', 'websocket.close' or "
                f"'websocket.http.response.start', but got {kind!r}"
            )

    def _deny_with(self, response: bytes) -> None:
        self._token = None
        self._buffer = None
        self._state = CLOSED
        self._disconnect(1006, "")
        self.transport.write(response)
        self.transport.close()

    def _access(self, outcome: str) -> None:
        if self.config.access_log and log.isEnabledFor(logging.INFO):
            scope = self.scope or {}
            client = scope.get("client")
            peer = f"{client[0]}:{client[1]}" if client else "-"
            log.info('%s - "WebSocket %s" %s', peer, scope.get("path"), outcome)

    async def _run(self) -> None:
        scope = self.scope
        try:
            await self.config.loaded_app(scope, self.receive, self.send)
        except ClientDisconnectedError:
            pass
        except asyncio.CancelledError:
            self._state = CLOSED
            self.transport.close()
            raise
        except Exception:
            log.exception("Exception in ASGI application\n")
            self._finish(1011, "internal error")
        else:
            if self._state == HANDSHAKE:
                log.error("ASGI callable returned without completing the WebSocket handshake.")
            self._finish(1000, "")

    def _finish(self, code: int, reason: str) -> None:
        """The app is done: end what it left unfinished."""
        state = self._state
        if state == HANDSHAKE:
            self._deny_with(http_response(500, "Internal Server Error"))
        elif state == DENYING:
            self._state = CLOSED
            self.transport.close()
        elif state == OPEN:
            self._close(code, reason)

    # -- receiving --------------------------------------------------------------------------

    def _parse(self) -> None:
        """Handle every complete frame in the buffer; keep the rest for the next data."""
        buffer = self._buffer
        if buffer is None:
            return
        size, pos = len(buffer), 0
        try:
            # every way of closing drops the buffer, which ends this loop
            while size - pos >= 2 and not self._held and self._buffer is buffer:
                end = self._frame_at(buffer, pos, size)
                if end < 0:
                    break
                pos = end
        except Failure as failure:
            self._fail(failure.code, failure.reason)
            return
        if self._buffer is not buffer:  # the connection closed meanwhile
            return
        if pos >= size:
            self._buffer = None
        elif pos:
            del buffer[:pos]  # cheap: bytearray drops its head without copying the rest

    def _frame_at(self, buffer: bytearray, pos: int, size: int) -> int:
        """Handle the frame starting at ``pos``; its end, or -1 when it is incomplete."""
        first, second = buffer[pos], buffer[pos + 1]
        opcode, length, head = first & 0x0F, second & 0x7F, pos + 2
        if not second & 0x80:
            raise Failure(1002, "client frames must be masked")
        if first & 0x70:
            raise Failure(1002, "reserved bits set, but no extension was negotiated")
        fragments = self._fragments
        if opcode >= CLOSE:
            if opcode > PONG:
                raise Failure(1002, f"unknown opcode {opcode}")
            if not first & 0x80:
                raise Failure(1002, "fragmented control frame")
            if length > 125:
                raise Failure(1002, "control frame longer than 125 bytes")
        elif opcode == 0:
            if fragments is None:
                raise Failure(1002, "continuation frame without a message to continue")
        elif opcode > BINARY:
            raise Failure(1002, f"unknown opcode {opcode}")
        elif fragments is not None:
            raise Failure(1002, "new message before the previous one ended")
        if length >= 126:
            extra = 2 if length == 126 else 8
            if size - head < extra:
                return -1
            length = int.from_bytes(buffer[head : head + extra], "big")
            head += extra
            if length >> 63:
                raise Failure(1002, "frame length with its most significant bit set")
        if opcode < CLOSE:
            limit = self.config.ws_max_size
            if length + (0 if fragments is None else fragments.size) > limit:
                raise Failure(1009, f"message larger than {limit} bytes")
        end = head + 4 + length
        if end > size:
            return -1
        payload = unmask(buffer[head + 4 : end], buffer[head : head + 4])
        if opcode >= CLOSE:
            self._control(opcode, payload)
        else:
            self._data(opcode, bool(first & 0x80), payload)
        return end

    def _data(self, opcode: int, final: bool, payload: bytes) -> None:
        fragments = self._fragments
        if opcode == 0:
            assert fragments is not None  # checked by _frame_at
            fragments.add(payload, final)
            if not final:
                return
            self._fragments = None
            message = fragments.message()
        elif not final:
            fragments = self._fragments = Fragments(opcode == TEXT)
            fragments.add(payload, False)
            return
        elif opcode == TEXT:
            try:
                message = {"type": "websocket.receive", "text": payload.decode("utf-8")}
            except UnicodeDecodeError:
                raise Failure(1007, "text message is not valid UTF-8") from None
        else:
            message = {"type": "websocket.receive", "bytes": payload}
        if self._state == OPEN:  # after our close, the app gets nothing but the disconnect
            self._push(message)
            if self._queue is not None and len(self._queue) >= self.config.ws_max_queue:
                self._held = True
                self.transport.pause_reading()

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == PING:
            if self._state == OPEN:
                self.transport.write(control_frame(PONG, payload))
        elif opcode == PONG:
            if self._token is not None and payload == self._token and self._state == OPEN:
                self._token = None
                self._cancel_timer()
                self._schedule_ping()
        else:
            code, reason = parse_close(payload)
            if self._state == OPEN:  # the client closes: echo, then end the TCP connection
                self.transport.write(close_frame(code, reason))
                self._disconnect(code, reason)
            self._state = CLOSED
            self._cancel_timer()
            self._buffer = None
            self.transport.close()

    def _push(self, message: dict[str, Any]) -> None:
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
        queue.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _disconnect(self, code: int, reason: str) -> None:
        if not self._gone:
            self._gone = True
            self._push({"type": "websocket.disconnect", "code": code, "reason": reason})

    # -- closing ----------------------------------------------------------------------------

    def _close(self, code: int, reason: str) -> None:
        """The app closes: send the close frame and wait for the client's echo."""
        if not 1000 <= code < 5000 or code in UNSENDABLE:
            raise RuntimeError(
                f"websocket.close code {code} may not be sent; use 1000-1003, 1007-1014 "
                "or 3000-4999"
            )
        self._state = CLOSING
        self._cancel_timer()
        self._disconnect(code, reason)
        if self.transport.is_closing():
            return
        self.transport.write(close_frame(code, reason))
        self._timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self.transport.close)
        if self._held:  # the echo must be read; queued data no longer reaches the app
            self._held = False
            self.transport.resume_reading()
            self._parse()

    def _fail(self, code: int, reason: str) -> None:
        """The client broke the protocol: close with ``code`` without waiting (§7.1.7)."""
        log.debug("WebSocket failed (%d): %s", code, reason)
        if self._state == OPEN:
            self.transport.write(close_frame(code, reason))
            self._disconnect(code, reason)
        self._state = CLOSED
        self._cancel_timer()
        self._buffer = self._fragments = None
        self.transport.close()

    def _cancel_timer(self) -> None:
        timer = self._timer
        if timer is not None:
            timer.cancel()
            self._timer = None

    # -- flow control and keepalive ---------------------------------------------------------

    async def _until_writable(self) -> None:
        waiter = self._writable
        if waiter is None:
            waiter = self._writable = asyncio.get_running_loop().create_future()
        await asyncio.shield(waiter)  # one sender's cancellation must not wake the others

    def _wake_writers(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _start_keepalive(self) -> None:
        if self.config.ws_ping_interval:
            self._schedule_ping()

    def _schedule_ping(self) -> None:
        interval = self.config.ws_ping_interval
        if interval:
            self._timer = asyncio.get_running_loop().call_later(interval, self._send_ping)

    def _send_ping(self) -> None:
        self._timer = None
        if self._state != OPEN or self.transport.is_closing():
            return
        self._token = payload = os.urandom(4)
        self.transport.write(control_frame(PING, payload))
        timeout = self.config.ws_ping_timeout
        if timeout:
            self._timer = asyncio.get_running_loop().call_later(timeout, self._ping_timed_out)
        else:
            self._schedule_ping()

    def _ping_timed_out(self) -> None:
        self._timer = None
        if self._state == OPEN:
            self._fail(1011, "keepalive ping timeout")


def _address(info: Any) -> tuple[str, int] | None:
    if type(info) is tuple and len(info) == 2 and type(info[0]) is str and type(info[1]) is int:
        return info  # already what ASGI wants (IPv4); no copy per connection
    if isinstance(info, tuple | list) and len(info) >= 2:
        return (str(info[0]), int(info[1]))
    return None


def _server_address(info: Any) -> tuple[str, int] | None:
    # the few addresses a worker listens on, one tuple each for all of its scopes
    key = tuple(info) if isinstance(info, list) else info
    try:
        return shared_addresses[key]
    except KeyError:
        return share(shared_addresses, key, _address(info))  # type: ignore[no-any-return]
    except TypeError:  # not hashable: not an address we know
        return None
