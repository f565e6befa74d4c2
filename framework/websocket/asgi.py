"""The ASGI side: one task per connection runs handshake, open, the receive loop and close.

:func:`ws_asgi_app` is what a ``ws`` server serves: WebSocket scopes go to the modules,
``GET /_swoop/client.js`` to the browser client, everything else (HTTP routes, lifespan) to
the application's HTTP app, so one port serves both.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from framework.errors import FrameworkError
from framework.http.errors import HTTPException
from framework.http.routing import Router, route_path
from framework.server.engine import entry_of
from framework.websocket.connection import CloseCode, Connection, ConnectionState
from framework.websocket.dispatch import Dispatcher
from framework.websocket.gateway import Gateway
from framework.websocket.protection import Heartbeat, OriginPolicy, take_token
from framework.websocket.routing import CompiledModule, Handler
from framework.websocket.settings import WsSettings

if TYPE_CHECKING:
    from framework.application import Application

__all__ = [
    "CLIENT_JS_PATH",
    "ASGIApp",
    "HandshakeRejected",
    "WebSocketApp",
    "call_hook",
    "client_js_app",
    "deny",
    "run_handshake",
    "until_disconnect",
    "ws_asgi_app",
]

log = logging.getLogger("swoop.websocket")

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
#: What runs one message of a connection (a module's :class:`Dispatcher`, or a gateway's
#: forwarding to its business worker).
Dispatch = Callable[[Connection, str | bytes], Awaitable[None]]
CLIENT_JS_PATH = "/_swoop/client.js"


class HandshakeRejected(Exception):
    """A handshake answered with an HTTP ``status`` and ``reason`` instead of an upgrade."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class WebSocketApp:
    """The ASGI callable for ``websocket`` scopes (``app.extension(WebSocketExtension).asgi``)."""

    def __init__(
        self,
        router: Router[tuple[CompiledModule, Dispatcher]],
        gateway: Gateway,
        settings: WsSettings,
    ) -> None:
        self.router = router
        self.gateway = gateway
        self.settings = settings
        self.heartbeat = Heartbeat(
            gateway.registry,
            interval=settings.ping_interval,
            max_missed=settings.ping_max_missed,
            idle_timeout=settings.idle_timeout,
            close_timeout=settings.close_timeout,
        )
        self.refusing: tuple[int, str] | None = None  # set by close_all: the worker is leaving
        self._emptied: asyncio.Event | None = None  # set when the last connection is gone
        self._origins = OriginPolicy(settings.allowed_origins)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        found = self.router.lookup("GET", ws_path(scope))
        if (await receive())["type"] != "websocket.connect":
            return
        if found is None:
            await deny(scope, send, 404, "no WebSocket endpoint at this path")
            return
        (module, dispatcher), params = found
        conn = Connection(
            self.gateway.ids.next(),
            scope,
            send,
            parser=module.parser,
            path_params=params,
            stats=self.gateway.stats,
            queue_limit=self.settings.send_queue_size,
            max_drops=self.settings.slow_client_drops,
            module=module.name,
        )
        try:
            await self._handshake(module, conn)
        except HandshakeRejected as rejected:
            await deny(scope, send, rejected.status, rejected.reason)
            return
        await send({"type": "websocket.accept"})
        refusal = self._refusal()
        if refusal is not None:
            conn.state = ConnectionState.OPEN
            await conn.close(*refusal)
            await until_disconnect(receive, self.settings.close_timeout)
            return
        await self._serve(module, dispatcher.entry, conn, receive)

    def _refusal(self) -> tuple[int, str] | None:
        if self.refusing is not None:
            return self.refusing
        limit = self.settings.max_connections
        if limit and len(self.gateway.registry) >= limit:
            return CloseCode.TRY_AGAIN_LATER, "too many connections, try again later"
        return None

    async def _handshake(self, module: CompiledModule, conn: Connection) -> None:
        if not self._origins.allows(conn.header("origin")):
            raise HandshakeRejected(403, "origin not allowed")
        await run_handshake(module, conn)

    async def _serve(
        self, module: CompiledModule, dispatch: Dispatch, conn: Connection, receive: Any
    ) -> None:
        loop = asyncio.get_running_loop()
        settings = self.settings
        conn.state = ConnectionState.OPEN
        conn.last_seen = conn.rate_stamp = loop.time()
        conn.rate_tokens = settings.rate_burst or settings.rate_limit
        conn.attach(asyncio.current_task())
        registry = self.gateway.registry
        registry.add(conn)
        self.heartbeat.ensure_running()
        cancelled: BaseException | None = None
        try:
            if module.open is not None:
                await self._open(module.open, conn)
            await self._receive_loop(dispatch, conn, receive, loop)
        except asyncio.CancelledError as exc:
            if conn.abandoned:  # our own close timeout, not the engine's cancellation
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
            else:
                cancelled = exc
        finally:
            conn.closed()
            registry.remove(conn)
            if self._emptied is not None and not registry.clients:
                self._emptied.set()
            if module.close is not None:
                try:
                    await call_hook(module.close, conn)
                except Exception as exc:
                    log.error("on_close %s failed", module.close.label, exc_info=exc)
        if cancelled is not None:
            raise cancelled

    async def _open(self, hook: Handler, conn: Connection) -> None:
        try:
            await call_hook(hook, conn)
        except Exception as exc:
            log.error("on_open %s failed", hook.label, exc_info=exc)
            await conn.close(CloseCode.INTERNAL_ERROR, "on_open failed")

    async def _receive_loop(
        self, dispatch: Dispatch, conn: Connection, receive: Any, loop: asyncio.AbstractEventLoop
    ) -> None:
        settings = self.settings
        max_size, rate, burst = settings.max_message_size, settings.rate_limit, settings.rate_burst
        burst = burst or rate
        open_, time = ConnectionState.OPEN, loop.time
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                if message["type"] == "websocket.disconnect":
                    if conn.state is open_:  # the client closed
                        conn.close_code = message.get("code") or 1005
                        conn.close_reason = message.get("reason") or ""
                    return
                continue
            frame = message.get("text")
            if frame is None:
                frame = message.get("bytes")
                if frame is None:
                    continue
            if conn.state is not open_:
                continue  # closing: drain until the engine reports the disconnect
            now = conn.last_seen = time()
            conn.missed_pings = 0
            if len(frame) > max_size or (
                len(frame) * 4 > max_size and type(frame) is str and len(frame.encode()) > max_size
            ):
                await self._refuse(conn, CloseCode.TOO_BIG, "message too big")
                continue
            if rate and not take_token(conn, now, rate, burst):
                await self._refuse(conn, CloseCode.POLICY, "rate limit exceeded")
                continue
            await dispatch(conn, frame)

    async def _refuse(self, conn: Connection, code: int, reason: str) -> None:
        await conn.close(code, reason)
        conn.expire_after(self.settings.close_timeout)

    async def close_all(self, code: int, reason: str, *, grace: float | None = None) -> None:
        """Close every connection with ``code`` and refuse new ones the same way; wait up to
        ``grace`` seconds (default ``ws.close_timeout``) for them to be gone."""
        self.refusing = (code, reason)
        registry = self.gateway.registry
        wait = self.settings.close_timeout if grace is None else grace
        self._emptied = emptied = asyncio.Event()
        for conn in list(registry.clients.values()):
            await conn.close(code, reason)
            conn.expire_after(wait)
        if registry.clients:
            # each connection gives up after `wait`; the slack covers its on_close hook
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait + 0.5):
                    await emptied.wait()


async def run_handshake(module: CompiledModule, conn: Connection) -> None:
    """Run the module's ``@on_handshake`` hook (if any) for ``conn``: its session is filled
    from a returned dict.

    Raises:
        HandshakeRejected: the hook refused (``HTTPException``: its status and message;
            ``False``: 403) or failed (500, logged).
    """
    hook = module.handshake
    if hook is None:
        return
    try:
        result = await call_hook(hook, conn)
    except HTTPException as exc:
        raise HandshakeRejected(exc.status_code, exc.message) from None
    except Exception as exc:
        log.error("on_handshake %s failed", hook.label, exc_info=exc)
        raise HandshakeRejected(500, "Internal Server Error") from None
    if result is False:
        raise HandshakeRejected(403, "Forbidden")
    if isinstance(result, dict):
        conn.session.update(result)


async def call_hook(handler: Handler, conn: Connection) -> Any:
    """Call a hook (``on_open``, ``on_close`` ...) with its parameters bound to ``conn``."""
    result = handler.invoke(conn, None)
    if handler.is_async or asyncio.iscoroutine(result):
        result = await result
    return result


async def until_disconnect(receive: Any, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "websocket.disconnect":
                pass
    except TimeoutError:
        pass


async def deny(scope: dict[str, Any], send: Any, status: int, reason: str) -> None:
    """Refuse a handshake with an HTTP status: with a body where the engine supports the
    ``websocket.http.response`` extension, else as the engine's plain 403."""
    if "websocket.http.response" in scope.get("extensions", {}):
        body = reason.encode()
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", b"%d" % len(body)),
        ]
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


def ws_path(scope: dict[str, Any]) -> str:
    """The path to route a scope on: without the proxy prefix ``root_path`` (see
    :func:`framework.http.routing.route_path`; uvicorn puts it in ``path``, hypercorn not)."""
    path: str = scope["path"]
    root: str = (scope.get("root_path") or "").rstrip("/")
    return route_path(path, root) if root else path


def client_js_app() -> ASGIApp:
    """Serve ``static/client.js`` with an ETag (answers ``If-None-Match`` with 304)."""
    body = resources.files("framework.websocket").joinpath("static/client.js").read_bytes()
    etag = b'"' + hashlib.sha256(body).hexdigest()[:16].encode() + b'"'
    headers = [
        (b"content-type", b"text/javascript; charset=utf-8"),
        (b"cache-control", b"no-cache"),
        (b"etag", etag),
    ]

    async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            allow = [(b"allow", b"GET, HEAD"), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 405, "headers": allow})
            await send({"type": "http.response.body", "body": b""})
            return
        if any(k == b"if-none-match" and etag in v for k, v in scope["headers"]):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        length = (b"content-length", b"%d" % len(body))
        await send({"type": "http.response.start", "status": 200, "headers": [*headers, length]})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    return serve


def ws_asgi_app(app: Application) -> ASGIApp:
    """The ASGI app of a ``ws`` server: WebSocket modules, ``/_swoop/client.js``, and the
    application's HTTP routes on the same port.

    HTTP and lifespan scopes go to :func:`framework.http.asgi_app` when the application has
    the :class:`~framework.http.HttpExtension`; without it, lifespan still starts and stops
    the application and other HTTP requests get 404.

    Raises:
        FrameworkError: ``app`` was booted without :class:`WebSocketExtension`.
    """
    from framework.http.extension import HttpExtension
    from framework.websocket.extension import WebSocketExtension

    websocket = entry_of(app.extension(WebSocketExtension).asgi)
    try:
        http: ASGIApp = entry_of(app.extension(HttpExtension).asgi)
    except FrameworkError:
        http = _minimal_http(app)
    script = client_js_app() if app.config.get("ws.client_js", True, type=bool) else None
    return _Combined(websocket, http, script)


class _Combined:
    """One port for WebSocket modules, the client script and the HTTP routes.

    Swoop's engines call :meth:`swoop_entry` (see :func:`framework.server.engine.entry_of`),
    which hands back the chosen app's awaitable: no coroutine of its own per request.
    """

    __slots__ = ("_http", "_script", "_websocket")

    def __init__(self, websocket: ASGIApp, http: ASGIApp, script: ASGIApp | None) -> None:
        self._websocket = websocket
        self._http = http
        self._script = script

    def swoop_entry(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        kind = scope["type"]
        if kind == "websocket":
            return self._websocket(scope, receive, send)
        if (
            kind == "http"
            and self._script is not None
            and scope["path"].endswith(CLIENT_JS_PATH)  # cheap first, then the exact rule
            and ws_path(scope) == CLIENT_JS_PATH
        ):
            return self._script(scope, receive, send)
        return self._http(scope, receive, send)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.swoop_entry(scope, receive, send)


def _minimal_http(app: Application) -> ASGIApp:
    owned = False

    async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal owned
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    if not app.started:
                        await app.startup()
                        owned = True
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if owned:
                        owned = False
                        await app.shutdown()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b"Not Found"
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return serve
