"""Built-in middleware: CORS, GZip, request ids and the access log.

Enable them in config, outermost first::

    http = {
        "middlewares": [
            "framework.http:RequestIdMiddleware",
            "framework.http:AccessLogMiddleware",
            "framework.http:CORSMiddleware",
            "framework.http:GZipMiddleware",
        ],
        "cors": {"allow_origins": ["https://example.com"]},
    }
"""

from __future__ import annotations

import gzip
import logging
import re
import time
import uuid
from contextvars import ContextVar

from framework.config import Config
from framework.http.middleware import CallNext
from framework.http.request import Request
from framework.http.responses import FileResponse, Response, StreamingResponse

__all__ = [
    "AccessLogMiddleware",
    "CORSMiddleware",
    "GZipMiddleware",
    "RequestIdMiddleware",
    "current_request_id",
]

access_log = logging.getLogger("swoop.access")

_request_id: ContextVar[str | None] = ContextVar("swoop_request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,200}$")
_DEFAULT_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def current_request_id() -> str | None:
    """The id of the request being served (set by :class:`RequestIdMiddleware`), for logs."""
    return _request_id.get()


class RequestIdMiddleware:
    """Reads ``X-Request-ID`` (or makes a random one), exposes it as ``request.request_id``
    and :func:`current_request_id`, and sends it back in ``X-Request-ID``.

    A client id that is too long or holds unusual characters is replaced.
    """

    async def process(self, request: Request, call_next: CallNext) -> Response:
        given = request.headers.get("x-request-id")
        request_id = given if given and _VALID_ID.match(given) else uuid.uuid4().hex
        request.state["request_id"] = request_id
        token = _request_id.set(request_id)
        try:
            response = await call_next(request)
        finally:
            _request_id.reset(token)
        response.headers["x-request-id"] = request_id
        return response


class AccessLogMiddleware:
    """One ``INFO`` line per request on logger ``swoop.access``:
    ``GET /users/7 200 1.24ms request_id=...``.

    The record also carries ``method``, ``path``, ``status``, ``duration_ms`` and
    ``request_id`` attributes for structured formatters. The duration ends when the
    response object is ready (before a streamed body is sent).
    """

    async def process(self, request: Request, call_next: CallNext) -> Response:
        start = time.perf_counter()
        status = 500
        response: Response | None = None
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            duration = (time.perf_counter() - start) * 1000
            request_id = request.request_id
            if request_id is None and response is not None:
                request_id = response.headers.get("x-request-id")
            access_log.info(
                "%s %s %d %.2fms request_id=%s",
                request.method,
                request.path,
                status,
                duration,
                request_id or "-",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "duration_ms": round(duration, 3),
                    "request_id": request_id,
                },
            )


class CORSMiddleware:
    """Cross-origin resource sharing, configured under ``http.cors``:

    ``allow_origins`` (list, ``["*"]`` for any; default none), ``allow_methods`` (default the
    common methods), ``allow_headers`` (``["*"]`` echoes the requested ones), ``expose_headers``,
    ``allow_credentials`` (bool), ``max_age`` (seconds, default 600).

    Preflight requests (``OPTIONS`` with ``Access-Control-Request-Method``) are answered here:
    204 when the origin is allowed, 403 when it is not.
    """

    def __init__(self, config: Config) -> None:
        self.allow_origins = set(config.get("http.cors.allow_origins", [], type=list[str]))
        methods = config.get("http.cors.allow_methods", _DEFAULT_METHODS, type=list[str])
        self.allow_methods = [m.upper() for m in methods]
        self.allow_headers = config.get("http.cors.allow_headers", [], type=list[str])
        self.expose_headers = config.get("http.cors.expose_headers", [], type=list[str])
        self.allow_credentials = config.get("http.cors.allow_credentials", False, type=bool)
        self.max_age = config.get("http.cors.max_age", 600, type=int)
        self.any_origin = "*" in self.allow_origins

    def _allowed(self, origin: str) -> bool:
        return self.any_origin or origin in self.allow_origins

    def _origin_headers(self, origin: str) -> dict[str, str]:
        headers = {"Vary": "Origin"}
        if self.any_origin and not self.allow_credentials:
            headers["Access-Control-Allow-Origin"] = "*"
        else:
            headers["Access-Control-Allow-Origin"] = origin
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    async def process(self, request: Request, call_next: CallNext) -> Response:
        origin = request.headers.get("origin")
        if origin is None:
            return await call_next(request)
        wanted = request.headers.get("access-control-request-method")
        if request.method == "OPTIONS" and wanted is not None:
            return self._preflight(request, origin, wanted)
        response = await call_next(request)
        if self._allowed(origin):
            for name, value in self._origin_headers(origin).items():
                response.headers[name] = value
            if self.expose_headers:
                response.headers["Access-Control-Expose-Headers"] = ", ".join(self.expose_headers)
        return response

    def _preflight(self, request: Request, origin: str, wanted: str) -> Response:
        if not self._allowed(origin) or wanted.upper() not in self.allow_methods:
            return Response("CORS request not allowed", 403, {"Vary": "Origin"}, "text/plain")
        headers = self._origin_headers(origin)
        headers["Access-Control-Allow-Methods"] = ", ".join(self.allow_methods)
        requested = request.headers.get("access-control-request-headers")
        if "*" in self.allow_headers and requested:
            headers["Access-Control-Allow-Headers"] = requested
        elif self.allow_headers:
            headers["Access-Control-Allow-Headers"] = ", ".join(self.allow_headers)
        headers["Access-Control-Max-Age"] = str(self.max_age)
        return Response(None, 204, headers)


class GZipMiddleware:
    """Compresses in-memory bodies of at least ``http.gzip.min_size`` bytes (default 500)
    when the client accepts gzip; ``http.gzip.level`` (default 6). Streaming and file
    responses, already-encoded bodies and media that is compressed already pass through."""

    _SKIP_TYPES = ("image/", "video/", "audio/", "application/zip", "application/gzip")

    def __init__(self, config: Config) -> None:
        self.min_size = config.get("http.gzip.min_size", 500, type=int)
        self.level = config.get("http.gzip.level", 6, type=int)

    async def process(self, request: Request, call_next: CallNext) -> Response:
        response = await call_next(request)
        if "gzip" not in (request.headers.get("accept-encoding") or "").lower():
            return response
        if isinstance(response, StreamingResponse | FileResponse):
            return response
        headers = response.headers
        if "content-encoding" in headers or len(response.body) < self.min_size:
            return response
        if (headers.get("content-type") or "").startswith(self._SKIP_TYPES):
            return response
        response.body = gzip.compress(response.body, self.level, mtime=0)
        headers["content-encoding"] = "gzip"
        headers.append("vary", "Accept-Encoding")
        return response
