"""The ASGI application: route, run the endpoint, answer misses; handle lifespan.

Per request: one dict lookup for static paths (one regex match for dynamic ones), then the
route's prebuilt endpoint. Misses (404, 405, automatic ``OPTIONS``, the trailing-slash
redirect, static files) take a slower path through the global middleware.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from framework.http.endpoint import Run, head_of
from framework.http.errors import HTTPException
from framework.http.request import Request
from framework.http.responses import RedirectResponse, Response
from framework.http.routing import MissKind, Router, route_path
from framework.http.static import StaticFiles

if TYPE_CHECKING:
    from framework.application import Application

__all__ = ["ASGIApp", "HttpApp"]

log = logging.getLogger("swoop.http")

# Loose on purpose, like framework.server.typing.AnyASGIApp: engines and httpx each have
# their own (equivalent) scope types; the ASGI boundary is the edge where Any is allowed.
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
_EMPTY: dict[str, Any] = {}
_STATIC_METHODS = ("GET", "HEAD")
_PATH_SAFE = "/-._~!$&'()*+,;=:@"


class HttpApp:
    """The ASGI callable of one application (``app.extension(HttpExtension).asgi``).

    ``lifespan`` events start and stop the application unless it was already started by its
    owner (then the owner stops it too). ``websocket`` scopes go to :attr:`websocket` when a
    WebSocket layer sets it, and are refused otherwise.
    """

    def __init__(
        self,
        application: Application,
        router: Router[Run],
        *,
        miss: Callable[[HttpApp], Run],
        static: StaticFiles | None,
        scoped: bool,
    ) -> None:
        self.application = application
        self.router = router
        self.static = static
        self.websocket: ASGIApp | None = None
        self._static_routes = router.static
        self._lookup = router.lookup
        self._scoped = scoped
        self._container = application.container
        self._miss = miss(self)
        self._miss_head = head_of(self._miss)
        self._owns_lifecycle = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.swoop_entry(scope, receive, send)

    def swoop_entry(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        """The dispatch of :meth:`__call__`, as a plain function returning the awaitable to
        run: Swoop's own engines call it directly (:func:`framework.server.engine.entry_of`),
        so a request runs in its endpoint's coroutine alone, without this app's around it.

        Raises:
            ValueError: a scope type ASGI does not define.
        """
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            if scope.get("root_path"):  # behind a proxy prefix; the one check otherwise
                path = _below_root(scope)
            if self._scoped:
                return self._in_request_scope(scope, path, receive, send)
            # the common case first: a static route, one dict lookup
            table = self._static_routes.get(path)
            if table is not None:
                run = table.get(scope["method"])
                if run is not None:
                    return run(scope, receive, send, _EMPTY)
            return self._http(scope, path, receive, send)
        if kind == "lifespan":
            return self._lifespan(receive, send)
        if kind == "websocket":
            if self.websocket is not None:
                return self.websocket(scope, receive, send)
            return send({"type": "websocket.close", "code": 1000})  # type: ignore[no-any-return]
        raise ValueError(f"unsupported ASGI scope type {kind!r}")

    async def _in_request_scope(
        self, scope: dict[str, Any], path: str, receive: Any, send: Any
    ) -> None:
        async with self._container.request_scope():
            await self._http(scope, path, receive, send)

    def _http(self, scope: dict[str, Any], path: str, receive: Any, send: Any) -> Awaitable[None]:
        found = self._lookup(scope["method"], path)
        if found is None:
            run = self._miss_head if scope["method"] == "HEAD" else self._miss
            return run(scope, receive, send, _EMPTY)
        return found[0](scope, receive, send, found[1])

    def miss_response(self, request: Request) -> Response:
        """The answer when no route matched: a static file, 405, OPTIONS, 308, or 404.

        Raises:
            HTTPException: 404 or 405 (so exception handlers can shape them).
        """
        method, path = request.method, request.path
        root_path = request.scope.get("root_path")
        if root_path:
            path = route_path(path, root_path.rstrip("/"))
        miss = self.router.miss(method, path)
        if miss.kind is MissKind.NOT_FOUND:
            if self.static is not None and method in _STATIC_METHODS:
                response = self.static.response(path, method, request.headers)
                if response is not None:
                    return response
            raise HTTPException(404)
        if miss.kind is MissKind.METHOD_NOT_ALLOWED:
            raise HTTPException(405, headers={"Allow": ", ".join(miss.allow)})
        if miss.kind is MissKind.OPTIONS:
            return Response(None, 204, {"Allow": ", ".join(miss.allow)})
        return RedirectResponse(_location(request.scope), status_code=308)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        app = self.application
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if not app.started:
                        await app.startup()
                        self._owns_lifecycle = True
                except Exception as exc:
                    log.exception("application startup failed")
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    if self._owns_lifecycle:
                        self._owns_lifecycle = False
                        await app.shutdown()
                except Exception as exc:
                    log.exception("application shutdown failed")
                    await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return


def _below_root(scope: dict[str, Any]) -> str:
    """The path to route on for a scope under ``root_path``; the scope is brought to the ASGI
    3 form first, where ``path`` and ``raw_path`` include ``root_path`` (hypercorn and older
    servers leave it out, uvicorn puts it in), so that ``Request.path``, ``Request.url`` and
    the trailing-slash redirect show the URL the client used, whatever the engine."""
    root: str = scope["root_path"].rstrip("/")
    path: str = scope["path"]
    if not root:  # "/": the whole site
        return path
    routed = route_path(path, root)
    if routed == path:  # not under the prefix: the server left it out
        scope["path"] = root + path
        raw: bytes | None = scope.get("raw_path")
        if raw is not None:
            scope["raw_path"] = quote(root, safe=_PATH_SAFE).encode("ascii") + raw
    return routed


def _location(scope: dict[str, Any]) -> str:
    raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = raw.decode("latin-1").rstrip("/")
    # never redirect to //host (a protocol-relative URL would leave the site)
    path = "/" + path.lstrip("/")
    query: bytes = scope.get("query_string", b"")
    return path + ("?" + query.decode("latin-1") if query else "")
