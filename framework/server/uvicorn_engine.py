"""Uvicorn as a library: HTTP/1.1 with httptools and WebSocket on pre-bound sockets.

``uvicorn.Server.serve(sockets=...)`` serves ready-made sockets (Uvicorn's Gunicorn worker uses
it that way). Three things are changed by subclassing:

- ``capture_signals`` does nothing: the process manager owns signals, and a stop arrives
  through the shutdown trigger, which ``on_tick`` checks (Uvicorn calls it every 0.1 s);
- a failed lifespan startup raises :class:`LifespanStartupError` instead of ``sys.exit``;
- the httptools protocol enforces ``header_timeout`` and ``max_header_size``, which Uvicorn
  lacks for httptools, and closes connections that never send a byte after
  ``keep_alive_timeout`` (Uvicorn arms that timer only after a first response).

WebSocket runs on one of two protocols, chosen with ``UvicornEngine(ws_protocol=...)``:

- ``"swoop"`` (default): :class:`framework.server.ws_protocol.WebSocketProtocol`, RFC 6455
  by hand with a small footprint per idle connection (about half of wsproto's, see
  docs/websocket.md, "Engines and memory");
- ``"wsproto"``: Uvicorn's own ``WSProtocol`` on the wsproto library (it negotiates
  permessage-deflate).

Uvicorn's protocol-level keepalive pings are off by default (``ws_ping_interval=None``):
Swoop's heartbeat (``ws.ping_interval``) works at the application level on every engine.
``ws_max_size`` bounds one received message (larger ones close with 1009).

On stop, Uvicorn closes the listening sockets and idle connections, waits
``graceful_timeout`` for in-flight requests, cancels the rest, then runs lifespan shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from asyncio import TimerHandle
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import anyio
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from framework.server.engine import (
    EngineOptions,
    EngineUnavailableError,
    LifespanStartupError,
    ShutdownTrigger,
    close_all,
    entry_of,
    serve_shielded,
)
from framework.server.typing import AnyASGIApp
from framework.server.ws_protocol import WebSocketProtocol

__all__ = ["WS_PROTOCOLS", "UvicornEngine"]

_DEFAULT_OPTIONS = EngineOptions()


WS_PROTOCOLS = ("swoop", "wsproto")


class UvicornEngine:
    """The ``fast`` engine; see :class:`framework.server.engine.Engine` for the contract.

    Args:
        use_uvloop: run on uvloop (see :func:`framework.server.engine.run`).
        ws_protocol: ``"swoop"`` or ``"wsproto"`` (see the module docs).
        ws_max_size: bytes one received WebSocket message may have; more closes with 1009.
        ws_ping_interval: seconds between protocol-level pings (``None``: none are sent).
        ws_ping_timeout: seconds a ping may go unanswered before closing with 1011.

    Raises:
        EngineUnavailableError: ``ws_protocol`` is not one of ``WS_PROTOCOLS``.
    """

    name = "uvicorn"
    protocols = frozenset({"http/1.1", "websocket"})

    def __init__(
        self,
        *,
        use_uvloop: bool = True,
        ws_protocol: str = "swoop",
        ws_max_size: int = 16 * 1024 * 1024,
        ws_ping_interval: float | None = None,
        ws_ping_timeout: float | None = 20.0,
    ) -> None:
        if ws_protocol not in WS_PROTOCOLS:
            choices = ", ".join(repr(p) for p in WS_PROTOCOLS)
            raise EngineUnavailableError(
                f"Unknown WebSocket protocol {ws_protocol!r} for the uvicorn engine.\n"
                f"  fix: choose one of {choices}"
            )
        self.use_uvloop = use_uvloop
        self.ws_protocol = ws_protocol
        self.ws_max_size = ws_max_size
        self.ws_ping_interval = ws_ping_interval
        self.ws_ping_timeout = ws_ping_timeout

    async def serve(
        self,
        app: AnyASGIApp,
        sockets: Sequence[socket.socket],
        *,
        shutdown_trigger: ShutdownTrigger,
        options: EngineOptions = _DEFAULT_OPTIONS,
        ready: Callable[[], None] | None = None,
    ) -> None:
        """Serve ``app`` on ``sockets`` until ``shutdown_trigger()`` returns (see ``Engine``)."""
        config = _Config(entry_of(app), options, self)
        stop = anyio.Event()
        server = _Server(config, ready, stop)

        def force() -> None:
            config.timeout_graceful_shutdown = 0

        try:
            await serve_shielded(
                partial(server.serve, sockets=list(sockets)),
                stop=stop,
                shutdown_trigger=shutdown_trigger,
                force=force,
            )
        finally:
            close_all(sockets)


class _Config(uvicorn.Config):
    def __init__(self, app: AnyASGIApp, options: EngineOptions, engine: UvicornEngine) -> None:
        super().__init__(
            app,
            http=_HttpToolsProtocol,
            ws=WebSocketProtocol if engine.ws_protocol == "swoop" else "wsproto",
            ws_max_size=(
                engine.ws_max_size
                if options.ws_max_message_size is None
                else options.ws_max_message_size
            ),
            ws_ping_interval=engine.ws_ping_interval,
            ws_ping_timeout=engine.ws_ping_timeout,
            interface="asgi3",
            lifespan="on" if options.lifespan else "off",
            log_config=None,  # leave the application's logging setup alone
            access_log=options.access_log,
            proxy_headers=False,
            server_header=False,
            root_path=options.root_path,
            backlog=options.backlog,
            timeout_keep_alive=options.keep_alive_timeout,  # type: ignore[arg-type]
            timeout_graceful_shutdown=options.graceful_timeout,  # type: ignore[arg-type]
        )
        self.header_timeout = options.header_timeout
        self.max_header_size = options.max_header_size


class _Server(uvicorn.Server):
    def __init__(
        self, config: _Config, ready: Callable[[], None] | None, stop: anyio.Event
    ) -> None:
        super().__init__(config)
        self._ready = ready
        self._stop = stop

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        except SystemExit:
            raise LifespanStartupError(
                "The application's lifespan startup failed on uvicorn.\n"
                "  fix: see the error logged above by the startup hook"
            ) from None
        if self._ready is not None:
            self._ready()

    async def on_tick(self, counter: int) -> bool:
        # Uvicorn calls this every 0.1 s and begins its stop once it returns True.
        return await super().on_tick(counter) or self._stop.is_set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets=sockets)
        # Past the grace period Uvicorn cancels request tasks but leaves their connections
        # open; close them and let the cancelled tasks finish so that nothing outlives serve().
        for connection in list(self.server_state.connections):
            connection.transport.close()
        if self.server_state.tasks:
            await asyncio.wait(list(self.server_state.tasks), timeout=1.0)
        await asyncio.sleep(0)


class _HeadersTooLargeError(Exception):
    pass


class _HttpToolsProtocol(HttpToolsProtocol):
    """httptools plus a header timeout, a header size limit and an idle timer from connect."""

    config: _Config

    def __init__(self, config: _Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._awaiting_headers = True
        self._raw_header_bytes = 0  # bytes received since this request began, body excluded
        self._header_size = 0  # request line plus parsed headers
        self._too_large = False
        self._header_timer: TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._raw_header_bytes += len(data)
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(
                    self.config.header_timeout, self._header_timeout_handler
                )
        super().data_received(data)
        # httptools buffers a header until it ends: bound what an unfinished one may take.
        if (
            self._awaiting_headers
            and self._raw_header_bytes > self.config.max_header_size
            and not self.transport.is_closing()
        ):
            self._too_large = True
            self.send_400_response("")

    def on_message_begin(self) -> None:
        self._header_size = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + 4)
        super().on_header(name, value)

    def handle_websocket_upgrade(self) -> None:
        if self.ws_protocol_class is not WebSocketProtocol:
            super().handle_websocket_upgrade()
            return
        # As Uvicorn does, but with the request's own HTTP version: Uvicorn writes HTTP/1.1,
        # which would hide an HTTP/1.0 upgrade from the protocol's RFC 6455 check.
        self.connections.discard(self)
        version = self.parser.get_http_version().encode()
        head = [self.scope["method"].encode(), b" ", self.url, b" HTTP/", version, b"\r\n"]
        for name, value in self.scope["headers"]:
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n")
        protocol = WebSocketProtocol(self.config, self.server_state, self.app_state)
        protocol.connection_made(self.transport)
        protocol.data_received(b"".join(head))
        self.transport.set_protocol(protocol)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._raw_header_bytes = 0
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers = True

    def send_400_response(self, msg: str) -> None:
        if not self._too_large:
            super().send_400_response(msg)
            return
        body = b"Request header fields too large"
        head = [STATUS_LINE[431]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n")
        head.append(b"content-length: %d\r\n\r\n" % len(body))
        self.transport.write(b"".join([*head, body]))
        self.transport.close()

    def _count_header_bytes(self, size: int) -> None:
        self._header_size += size
        if self._header_size > self.config.max_header_size:
            self._too_large = True
            raise _HeadersTooLargeError  # httptools aborts; Uvicorn calls send_400_response

    def _header_timeout_handler(self) -> None:
        self._header_timer = None
        if self._awaiting_headers and not self.transport.is_closing():
            self.transport.close()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
