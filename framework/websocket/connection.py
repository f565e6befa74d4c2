"""One WebSocket connection: its handshake data, its session, and its outgoing frames.

Sending never waits for a slow client. A frame is first written *eagerly*: the engine's
``send`` coroutine is stepped by hand, and on both engines it finishes at once while the
socket's write buffer has room (it only suspends for flow control). So a broadcast to 10,000
connections is 10,000 synchronous writes, with no task and no queue. When a send does
suspend (the client reads slower than we write), the rest of it moves to a drain task, and
later frames wait in a bounded per-connection queue behind it. When that queue is full, the
new frame is **dropped for that client**, counted (``Connection.dropped``,
``Gateway.stats.dropped``) and logged; after ``ws.slow_client_drops`` drops in a row the
client is closed with 1013 (try again later).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from framework.http.headers import Headers
from framework.server.fastpath import DirectWrite, direct_writer, encode_frame
from framework.server.stepping import resume
from framework.websocket.parsers import encode_value

if TYPE_CHECKING:
    from framework.websocket.parsers import Parser

__all__ = ["CloseCode", "Connection", "ConnectionState", "Outgoing", "SendStats", "Session"]

log = logging.getLogger("swoop.websocket")

# Engines implement send as a coroutine function; pushes step that coroutine by hand.
ASGISend = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]


class CloseCode(enum.IntEnum):
    """The close codes Swoop sends (RFC 6455 §7.4.1)."""

    NORMAL = 1000  #: the application closed the connection
    GOING_AWAY = 1001  #: the worker is stopping
    POLICY = 1008  #: origin refused after accept, rate limit exceeded
    TOO_BIG = 1009  #: a message larger than ``ws.max_message_size``
    INTERNAL_ERROR = 1011  #: heartbeat timeout (as the ``websockets`` library), or a bug
    SERVICE_RESTART = 1012  #: the worker is reloading
    TRY_AGAIN_LATER = 1013  #: ``ws.max_connections`` reached, or a slow client was dropped


class ConnectionState(enum.IntEnum):
    CONNECTING = 0  #: handshake in progress
    OPEN = 1
    CLOSING = 2  #: a close was sent or received
    CLOSED = 3


class Session(dict[str, Any]):
    """The session of one connection: a plain ``dict`` the handlers share, injectable into
    handlers by type (``session: Session``); the gateway reads and writes it by client id."""


class SendStats:
    """Counters shared by the connections of one worker."""

    __slots__ = ("closed_slow", "dropped")

    def __init__(self) -> None:
        self.dropped = 0  #: frames dropped because a client's queue was full
        self.closed_slow = 0  #: clients closed for dropping too many frames


class _Close:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason


def _message(frame: str | bytes) -> dict[str, Any]:
    if type(frame) is str:
        return {"type": "websocket.send", "text": frame}
    return {"type": "websocket.send", "bytes": frame}


class Outgoing:
    """One frame to send to one or many connections, encoded at most once each way: as the
    ASGI message, and as wire bytes for engines that take them (:mod:`.fastpath`)."""

    __slots__ = ("_message", "_wire", "frame")

    def __init__(self, frame: str | bytes) -> None:
        self.frame = frame
        self._wire: bytes | None = None
        self._message: dict[str, Any] | None = None

    @property
    def wire(self) -> bytes:
        wire = self._wire
        if wire is None:
            wire = self._wire = encode_frame(self.frame)
        return wire

    @property
    def message(self) -> dict[str, Any]:
        message = self._message
        if message is None:
            message = self._message = _message(self.frame)
        return message


class Connection:
    """A WebSocket connection of this worker.

    Attributes:
        id: the client id (``<node>-<worker>-<boot>-<seq>``, see :mod:`.clientid`).
        path: the request path; ``path_params`` the module path's ``{var}`` values.
        session: a :class:`Session` dict (``on_handshake`` may fill it).
        uid: the user id bound with ``gateway.bind_uid``, or ``None``.
        groups: the groups joined with ``gateway.join_group``.
        state: a :class:`ConnectionState`.
        dropped: frames dropped because this client read too slowly.
        close_code, close_reason: how the connection closed (for ``on_close``).
    """

    __slots__ = (
        "_busy",
        "_cookies",
        "_direct",
        "_drain",
        "_drops_in_row",
        "_groups",
        "_headers",
        "_limit",
        "_max_drops",
        "_query",
        "_queue",
        "_send",
        "_session",
        "_stats",
        "_task",
        "_timer",
        "abandoned",
        "close_code",
        "close_reason",
        "dropped",
        "id",
        "last_seen",
        "missed_pings",
        "module",
        "parser",
        "path_params",
        "rate_stamp",
        "rate_tokens",
        "scope",
        "state",
        "uid",
    )

    def __init__(
        self,
        client_id: str,
        scope: Mapping[str, Any],
        send: ASGISend,
        *,
        parser: Parser,
        path_params: dict[str, Any],
        stats: SendStats,
        queue_limit: int = 256,
        max_drops: int = 100,
        module: str = "",
    ) -> None:
        self.id = client_id
        self.scope = scope
        self.path_params = path_params
        self.parser = parser
        self.module = module
        self.state = ConnectionState.CONNECTING
        self.uid: str | None = None
        self._groups: set[str] | None = None
        self.dropped = 0
        self.close_code = 1005
        self.close_reason = ""
        self.last_seen = 0.0
        self.missed_pings = 0
        self.rate_tokens = 0.0
        self.rate_stamp = 0.0
        self.abandoned = False
        self._send = send
        self._direct: DirectWrite | None = direct_writer(send)
        self._stats = stats
        self._limit = queue_limit
        self._max_drops = max_drops
        self._drops_in_row = 0
        self._busy = False
        self._queue: deque[str | bytes | _Close] | None = None
        self._drain: asyncio.Task[None] | None = None
        self._task: asyncio.Task[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._session: Session | None = None
        self._query: dict[str, str] | None = None
        self._headers: Headers | None = None
        self._cookies: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.id} {self.path} {self.state.name}>"

    # -- handshake data ---------------------------------------------------------------------

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def client(self) -> tuple[str, int] | None:
        """The peer's ``(host, port)``, when the engine knows it."""
        client = self.scope.get("client")
        return None if client is None else (str(client[0]), int(client[1]))

    @property
    def query(self) -> dict[str, str]:
        """The query string of the handshake request (the first value of each key)."""
        if self._query is None:
            raw: bytes = self.scope.get("query_string", b"")
            query: dict[str, str] = {}
            for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
                query.setdefault(key, value)
            self._query = query
        return self._query

    @property
    def headers(self) -> Headers:
        """The handshake request's headers (case-insensitive)."""
        if self._headers is None:
            raw = self.scope.get("headers", [])
            self._headers = Headers(raw if type(raw) is list else list(raw))
        return self._headers

    def header(self, name: str) -> str | None:
        """The first value of the handshake header ``name`` (any case), or ``None``.

        Unlike :attr:`headers`, this keeps no index of every header: a check that reads one
        header of each connection (the origin) costs no memory per idle connection.
        """
        if self._headers is not None:
            return self._headers.get(name)
        key = name.lower().encode("latin-1")
        for raw_name, value in self.scope.get("headers", ()):
            if raw_name.lower() == key:
                return str(value.decode("latin-1"))
        return None

    @property
    def cookies(self) -> dict[str, str]:
        """The handshake request's cookies."""
        if self._cookies is None:
            cookies: dict[str, str] = {}
            for header in self.headers.getall("cookie"):
                for pair in header.split(";"):
                    name, sep, value = pair.partition("=")
                    if sep:
                        cookies.setdefault(name.strip(), unquote(value.strip().strip('"')))
            self._cookies = cookies
        return self._cookies

    @property
    def session(self) -> Session:
        """This connection's session (created on first use)."""
        if self._session is None:
            self._session = Session()
        return self._session

    @property
    def groups(self) -> set[str]:
        """The groups joined with ``gateway.join_group`` (the set is created on first use:
        most connections never join one)."""
        groups = self._groups
        if groups is None:
            groups = self._groups = set()
        return groups

    @groups.setter
    def groups(self, groups: set[str]) -> None:
        self._groups = groups

    @property
    def is_open(self) -> bool:
        return self.state is ConnectionState.OPEN

    # -- sending ----------------------------------------------------------------------------

    async def send(self, message: Any) -> bool:
        """Send ``message`` to this client: ``str`` as a text frame, ``bytes`` as a binary
        frame, anything else as JSON text. Never waits for a slow client (see the module
        docs). Returns whether the frame was written or queued (``False``: dropped, or the
        connection is closing)."""
        return self.push(encode_value(message))

    async def emit(self, cmd: str, data: Any = None) -> bool:
        """Send a push of command ``cmd`` encoded by the module's parser (``json``:
        ``{"cmd": cmd, "data": data}``; ``token``: ``cmd:data``); ``client.js`` delivers it
        to ``on(cmd, fn)``. Returns as :meth:`send`."""
        return self.push(self.parser.encode(cmd, data, None))

    def push(self, frame: str | bytes) -> bool:
        """Write an encoded frame without waiting: eagerly, or queued behind a send that is
        waiting for the client (bounded; a full queue drops the frame)."""
        return self.push_out(Outgoing(frame))

    def push_out(self, out: Outgoing) -> bool:
        """:meth:`push` for a frame shared by many connections (a broadcast)."""
        if self.state is not ConnectionState.OPEN:
            return False
        if self._busy:
            return self._enqueue(out.frame)
        direct = self._direct
        if direct is not None and direct(out.wire):
            return True
        coro = self._send(out.message)
        try:
            yielded = coro.send(None)
        except StopIteration:
            return True
        except Exception as exc:
            self._lost(exc)
            return False
        self._busy = True
        self._drain = asyncio.get_running_loop().create_task(self._finish(coro, yielded))
        return True

    def reply_now(self, frame: str | bytes) -> bool:
        """Write a reply at once when nothing is queued before it and the engine takes
        encoded frames without waiting (see :mod:`framework.server.fastpath`); ``False``:
        nothing was written, :meth:`reply` must send it. It spares a coroutine per reply."""
        if self.state is not ConnectionState.OPEN or self._busy:
            return False
        direct = self._direct
        return direct is not None and direct(encode_frame(frame))

    async def reply(self, frame: str | bytes) -> None:
        """Send a reply from the connection's own task, waiting for the client if it reads
        slowly (back pressure on a client that sends faster than it reads)."""
        if self.state is not ConnectionState.OPEN:
            return
        if self._busy:
            self._enqueue(frame)
            drain = self._drain
            if drain is not None:
                await asyncio.wait((drain,))
            return
        direct = self._direct
        if direct is not None and direct(encode_frame(frame)):
            return
        self._busy = True
        try:
            await self._send(_message(frame))
        except Exception as exc:
            self._lost(exc)
        finally:
            self._busy = False
        if self._queue:
            self._start_drain()

    def _enqueue(self, frame: str | bytes | _Close) -> bool:
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
        if len(queue) >= self._limit and not isinstance(frame, _Close):
            self._dropped_one()
            return False
        queue.append(frame)
        return True

    def _dropped_one(self) -> None:
        self.dropped += 1
        self._drops_in_row += 1
        self._stats.dropped += 1
        if self.dropped == 1 or self.dropped % 100 == 0:
            log.warning(
                "websocket %s reads too slowly: %d frame(s) dropped (queue limit %d)",
                self.id,
                self.dropped,
                self._limit,
            )
        if self._max_drops and self._drops_in_row >= self._max_drops:
            self._stats.closed_slow += 1
            self.abort(CloseCode.TRY_AGAIN_LATER, "slow client: too many dropped messages")

    def _start_drain(self) -> None:
        self._busy = True
        self._drain = asyncio.get_running_loop().create_task(self._finish(None, None))

    async def _finish(self, coro: Coroutine[Any, Any, Any] | None, yielded: Any) -> None:
        try:
            if coro is not None:
                await resume(coro, yielded)
            queue = self._queue
            while queue:
                item = queue.popleft()
                if isinstance(item, _Close):
                    queue.clear()
                    await self._send_close(item.code, item.reason)
                    return
                await self._send(_message(item))
            self._drops_in_row = 0
        except Exception as exc:
            self._lost(exc)
        finally:
            self._busy = False
            self._drain = None

    def _lost(self, exc: BaseException) -> None:
        # The engine refused to write: the client is gone; its receive loop will see it.
        log.debug("websocket %s: send failed: %r", self.id, exc)
        if self._queue:
            self._queue.clear()

    # -- closing ----------------------------------------------------------------------------

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Close the connection with ``code`` after the frames already queued for it.

        ``on_close`` then sees this code and reason. If the client does not answer the close
        within ``ws.close_timeout`` seconds, the connection is dropped.
        """
        if self.state is not ConnectionState.OPEN:
            return
        self._closing(code, reason)
        if self._busy:
            self._enqueue(_Close(code, reason))
            return
        self._busy = True
        try:
            await self._send_close(code, reason)
        finally:
            self._busy = False

    def abort(self, code: int, reason: str) -> None:
        """Close now, discarding queued frames (a slow client, a stopping worker)."""
        if self.state is not ConnectionState.OPEN:
            return
        self._closing(code, reason)
        drain = self._drain
        if drain is not None:
            drain.cancel()
        if self._queue:
            self._queue.clear()
        self._busy = True
        self._drain = asyncio.get_running_loop().create_task(self._send_close(code, reason))

    def _closing(self, code: int, reason: str) -> None:
        self.state = ConnectionState.CLOSING
        self.close_code, self.close_reason = code, reason

    async def _send_close(self, code: int, reason: str) -> None:
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except Exception as exc:
            self._lost(exc)

    def attach(self, task: asyncio.Task[Any] | None) -> None:
        """Remember the task running this connection's receive loop (see :meth:`expire`)."""
        self._task = task

    def expire_after(self, seconds: float) -> None:
        """Give up on the close handshake after ``seconds``: end the receive loop."""
        if self._timer is None and self._task is not None:
            self._timer = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _expire(self) -> None:
        self._timer = None
        task = self._task
        if task is not None and not task.done() and self.state is not ConnectionState.CLOSED:
            self.abandoned = True
            task.cancel()

    def closed(self) -> None:
        """Mark the connection closed: later sends are refused; timers are cancelled."""
        self.state = ConnectionState.CLOSED
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        drain = self._drain
        if drain is not None and not drain.done():
            drain.cancel()
        if self._queue:
            self._queue.clear()
        self._task = None
