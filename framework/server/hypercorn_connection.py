"""One client connection of the hypercorn engine: an ``asyncio.Protocol`` driving Hypercorn's
sans-IO ``ProtocolWrapper`` (h11, h2, WebSocket streams).

Hypercorn's own ``TCPServer`` gives every connection a task blocked in ``StreamReader.read``,
a ``StreamReader``/``StreamWriter`` pair, a send lock, an idle-timeout task and a task group:
about 8 KiB that an idle WebSocket keeps for nothing. Here a connection is one slotted object:

- **Reading**: ``data_received`` steps ``ProtocolWrapper.handle(RawData(...))`` by hand. It
  usually completes without suspending (a WebSocket message is parsed and put in the app's
  queue), and no task exists. When it suspends (the app's queue is full, a pipelined request
  waits for the response before it), a task finishes it, and what arrives meanwhile waits in
  a buffer, handed over in order once the protocol is free; reading pauses while that buffer
  holds more than ``MAX_BUFFER`` bytes. End of stream, a lost connection and timeouts reach
  the protocol as ``Closed`` after the data before them; the socket is closed after that.
- **Writing**: bytes go to the transport at once, in the order they are sent; a sender waits
  only while the transport is paused above its high-water mark (64 KiB), until it drains.
  :meth:`HypercornConnection.write_frame` is the broadcast fast path
  (:mod:`framework.server.fastpath`): it writes a WebSocket frame directly, and refuses while
  a sender waits for a drain, so frames never overtake the engine's own.
- **Timeouts**: ``keep_alive_timeout`` closes a connection idle between requests (and before
  the first one) with a timer handle, not a task; ``read_timeout`` (off unless set) closes
  one that sends nothing for that long while the protocol waits for data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, cast

from hypercorn.events import Closed, Event, RawData, Updated
from hypercorn.protocol import ProtocolWrapper
from hypercorn.protocol.ws_stream import ASGIWebsocketState, WSStream
from hypercorn.utils import parse_socket_addr

from framework.server.stepping import resume

if TYPE_CHECKING:
    from framework.server.hypercorn_driver import HypercornDriver

__all__ = ["MAX_BUFFER", "HypercornConnection"]

#: Bytes received while the protocol is busy above which reading pauses until it catches up.
MAX_BUFFER = 64 * 1024

log = logging.getLogger("hypercorn.error")

_CLOSED = Closed()
_CONNECTED = ASGIWebsocketState.CONNECTED


class HypercornConnection(asyncio.Protocol):
    """Hypercorn's protocols on one socket (see the module docs); made by the driver."""

    __slots__ = (
        "_busy",
        "_closed",
        "_drainers",
        "_driver",
        "_ending",
        "_fed_closed",
        "_idle_timer",
        "_inbox",
        "_protocol",
        "_read_timer",
        "_reading_paused",
        "_transport",
        "_writing_paused",
    )

    def __init__(self, driver: HypercornDriver) -> None:
        self._driver = driver
        self._transport: asyncio.Transport  # both set by connection_made, before any use
        self._protocol: ProtocolWrapper
        self._inbox: bytearray | None = None  # received while the protocol was busy
        self._busy = False  # a task is finishing a call into the protocol
        self._ending = False  # the protocol is to get Closed once it has the data before it
        self._fed_closed = False
        self._closed = False  # the transport is closing or lost: nothing more can be sent
        self._reading_paused = False
        self._writing_paused = False
        self._drainers: list[asyncio.Future[None]] | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._read_timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport = cast(asyncio.Transport, transport)  # a TCP socket's
        driver = self._driver
        driver.connected(self)
        sock = transport.get_extra_info("socket")
        family = sock.family if sock is not None else 0
        peer, local = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        self._protocol = driver.protocol_for(
            self._send,
            parse_socket_addr(family, peer) if peer else None,
            parse_socket_addr(family, local) if local else None,
        )
        self._pump(None, self._protocol.initiate())
        self._set_idle(True)

    def data_received(self, data: bytes) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        if self._ending:
            return
        if not self._busy:
            self._pump(RawData(data))
            return
        inbox = self._inbox
        if inbox is None:
            inbox = self._inbox = bytearray()
        inbox += data
        if len(inbox) > MAX_BUFFER and not self._reading_paused:
            self._reading_paused = True
            self._transport.pause_reading()

    def eof_received(self) -> bool:
        self._end()
        return True  # the transport stays open until the protocol had Closed (see _pump)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._cancel_timers()
        self._wake_drainers()
        self._driver.disconnected(self)
        self._end()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_drainers()

    # -- the broadcast fast path ------------------------------------------------------------

    def write_frame(self, frame: bytes) -> bool:
        """Write an encoded WebSocket frame now; ``False`` (nothing written) unless the
        connection's stream is an open WebSocket and no write of the engine's own waits for
        the client to drain (the transport is below its high-water mark): the frame must
        then go through ASGI ``send``, which keeps the order."""
        if self._writing_paused or self._closed:
            return False
        stream = getattr(self._protocol, "protocol", None)
        stream = getattr(stream, "stream", None)
        if type(stream) is not WSStream or stream.state is not _CONNECTED or stream.closed:
            return False
        self._transport.write(frame)
        return True

    # -- what the driver asks ---------------------------------------------------------------

    def close_if_idle(self) -> None:
        """The server stops: close now when idle between requests (as the idle timer would)."""
        if self._idle_timer is not None:
            self._end()

    def close(self) -> None:
        """Close the socket after what is buffered for it (the stop's grace period is over)."""
        self._close()

    def abort(self) -> None:
        """Drop the socket now, discarding what is buffered."""
        self._closed = True
        self._transport.abort()

    # -- reading: the protocol gets events one at a time, in order -------------------------

    def _pump(self, event: Event | None, coro: Coroutine[Any, Any, None] | None = None) -> None:
        # Steps the protocol by hand while it completes at once; a task takes over when it
        # suspends (see the module docs). Busy also while stepping: a timer or a write that
        # ends the connection meanwhile only marks it, and Closed comes next in this loop.
        self._busy = True
        while True:
            if coro is None:
                if event is None:
                    event = self._next_event()
                    if event is None:
                        self._busy = False
                        self._arm_read_timer()
                        return
                coro = self._protocol.handle(event)
                event = None
            try:
                yielded = coro.send(None)
            except StopIteration:
                coro = None
                continue
            except Exception as exc:
                self._failed(exc)
                coro = None
                continue
            self._driver.track(self._finish(coro, yielded))
            return

    async def _finish(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        try:
            try:
                await resume(coro, yielded)
            except Exception as exc:
                self._failed(exc)
            while (event := self._next_event()) is not None:
                try:
                    await self._protocol.handle(event)
                except Exception as exc:
                    self._failed(exc)
        finally:
            self._busy = False
        self._arm_read_timer()

    def _next_event(self) -> Event | None:
        inbox = self._inbox
        if inbox:
            self._inbox = None
            if self._reading_paused and not self._closed:
                self._reading_paused = False
                self._transport.resume_reading()
            return RawData(bytes(inbox))
        if self._ending:
            if not self._fed_closed:
                self._fed_closed = True
                return _CLOSED
            self._close()  # the protocol knows; hypercorn closes the socket after it, too
        return None

    def _end(self) -> None:
        # End of stream, connection lost, idle or read timeout: Closed, after pending data.
        if self._ending:
            return
        self._ending = True
        self._cancel_timers()
        if not self._busy:
            self._pump(None)

    def _failed(self, exc: Exception) -> None:
        # The protocol raised: drop what waits, close the socket; it still gets Closed once,
        # so that its streams tell their apps the client is gone.
        self._inbox = None
        self._ending = True
        if not isinstance(exc, OSError):  # as Hypercorn's TCPServer: OSError closes quietly
            log.error("Error in Hypercorn's protocol; connection closed", exc_info=exc)
        self._close()

    # -- writing and the protocol's other events --------------------------------------------

    async def _send(self, event: Event) -> None:
        if type(event) is RawData:
            if self._closed:  # where hypercorn's writer raises: the protocol learns it is gone
                await self._protocol.handle(_CLOSED)
                return
            self._transport.write(event.data)
            if self._writing_paused:
                await self._drained()
        elif isinstance(event, Closed):
            self._close()
        elif isinstance(event, Updated):
            self._set_idle(event.idle)

    async def _drained(self) -> None:
        future = asyncio.get_running_loop().create_future()
        drainers = self._drainers
        if drainers is None:
            drainers = self._drainers = []
        drainers.append(future)
        try:
            await future
        finally:
            if future in drainers:
                drainers.remove(future)
        if self._closed:
            await self._protocol.handle(_CLOSED)

    def _wake_drainers(self) -> None:
        drainers, self._drainers = self._drainers, None
        for future in drainers or ():
            if not future.done():
                future.set_result(None)

    def _close(self) -> None:
        self._cancel_timers()
        transport = self._transport
        if self._closed:
            return
        self._closed = True
        try:
            if transport.can_write_eof():
                transport.write_eof()
        except (NotImplementedError, OSError, RuntimeError):
            pass
        transport.close()

    # -- timers ---------------------------------------------------------------------------------

    def _set_idle(self, idle: bool) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if not idle or self._ending:
            return
        driver = self._driver
        if driver.stopping:
            self._end()
        else:
            loop = asyncio.get_running_loop()
            self._idle_timer = loop.call_later(driver.keep_alive_timeout, self._end)

    def _arm_read_timer(self) -> None:
        timeout = self._driver.read_timeout
        if timeout is None or self._busy or self._ending or self._read_timer is not None:
            return
        self._read_timer = asyncio.get_running_loop().call_later(timeout, self._end)

    def _cancel_timers(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
