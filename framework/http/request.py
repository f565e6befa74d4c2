"""The :class:`Request`: a lazy view over the ASGI scope and receive channel.

Nothing is parsed until asked for: headers, query string, cookies and body are decoded on
first access and cached. The body is read at most once and never beyond
``http.max_body_size`` bytes: a larger ``Content-Length`` or a longer chunked stream raises
:class:`HTTPException` (413) before more is buffered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import orjson

from framework.http.errors import HTTPException
from framework.http.forms import (
    FormData,
    MultiDict,
    parse_multipart,
    parse_pairs,
    parse_urlencoded,
)
from framework.http.headers import Headers

__all__ = ["DEFAULT_MAX_BODY_SIZE", "Request"]

DEFAULT_MAX_BODY_SIZE = 1024 * 1024
_EMPTY: dict[str, Any] = {}


class Request:
    """One HTTP request.

    Attributes:
        scope: the ASGI scope.
        path_params: converted path parameters (``{"id": 7}``).
        state: a dict for middleware to pass values along (the request id lives here).
    """

    __slots__ = (
        "_body",
        "_cookies",
        "_form",
        "_headers",
        "_query",
        "_streamed",
        "max_body_size",
        "path_params",
        "receive",
        "scope",
        "state",
    )

    def __init__(
        self,
        scope: dict[str, Any],
        receive: Any = None,
        path_params: dict[str, Any] | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        self.scope = scope
        self.receive = receive
        self.path_params = path_params if path_params is not None else _EMPTY
        self.max_body_size = max_body_size
        # state and the lazy caches below are left unset: most requests never touch them,
        # and __getattr__ supplies them on first read

    state: dict[str, Any]
    _headers: Headers | None
    _query: MultiDict | None
    _cookies: dict[str, str] | None
    _body: bytes | None
    _form: FormData | None
    _streamed: bool

    def __getattr__(self, name: str) -> Any:
        # only called for a slot never assigned (see __init__)
        if name == "state":
            state: dict[str, Any] = {}
            self.state = state
            return state
        try:
            return _UNSET[name]
        except KeyError:
            raise AttributeError(f"'Request' object has no attribute {name!r}") from None

    # -- the request line ---------------------------------------------------------------

    @property
    def method(self) -> str:
        return self.scope["method"]  # type: ignore[no-any-return]

    @property
    def path(self) -> str:
        """The percent-decoded path."""
        return self.scope["path"]  # type: ignore[no-any-return]

    @property
    def query_string(self) -> str:
        return bytes(self.scope.get("query_string", b"")).decode("latin-1")

    @property
    def url(self) -> str:
        """The full URL as the client sent it (scheme, host, raw path, query)."""
        scheme = self.scope.get("scheme", "http")
        host = self.headers.get("host")
        if host is None:
            server = self.scope.get("server") or ("localhost", None)
            host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
        raw = self.scope.get("raw_path")
        path = raw.decode("latin-1") if raw else self.path
        query = self.query_string
        return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")

    @property
    def client(self) -> tuple[str, int] | None:
        client = self.scope.get("client")
        return (client[0], client[1]) if client else None

    # -- headers, query, cookies --------------------------------------------------------

    @property
    def headers(self) -> Headers:
        headers = self._headers
        if headers is None:
            headers = self._headers = Headers(self.scope["headers"])
        return headers

    @property
    def query_params(self) -> MultiDict:
        query = self._query
        if query is None:
            query = self._query = MultiDict(parse_pairs(self.scope.get("query_string", b"")))
        return query

    @property
    def cookies(self) -> dict[str, str]:
        cookies = self._cookies
        if cookies is None:
            cookies = self._cookies = {}
            for header in self.headers.getall("cookie"):
                for pair in header.split(";"):
                    name, sep, value = pair.partition("=")
                    if sep:
                        cookies.setdefault(name.strip(), unquote(value.strip().strip('"')))
        return cookies

    @property
    def content_type(self) -> str:
        """The media type without parameters, lowercased (``""`` when absent)."""
        value = self.headers.get("content-type") or ""
        return value.partition(";")[0].strip().lower()

    @property
    def request_id(self) -> str | None:
        """The id set by ``RequestIdMiddleware`` (or the client's ``X-Request-ID``)."""
        found = self.state.get("request_id")
        return found if found is not None else self.headers.get("x-request-id")

    # -- body -------------------------------------------------------------------------

    def _too_large(self) -> HTTPException:
        return body_too_large(self.max_body_size)

    async def stream(self) -> AsyncIterator[bytes]:
        """The body chunks as they arrive (counted against ``max_body_size``).

        Raises:
            HTTPException: 413 when the body is too large, 400 when the client disconnects.
            RuntimeError: the body was already streamed (``body()`` caches; ``stream()`` not).
        """
        if self._body is not None:
            yield self._body
            return
        if self._streamed:
            raise RuntimeError("the request body was already streamed; it can be read only once")
        self._streamed = True
        length = self.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_size:
            raise self._too_large()
        received = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise HTTPException(400, "the client disconnected before sending the body")
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_size:
                raise self._too_large()
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    async def body(self) -> bytes:
        """The whole body (read once, then cached).

        Raises:
            HTTPException: 413 when the body is too large.
        """
        if self._body is None:
            self._body = b"".join([chunk async for chunk in self.stream()])
        return self._body

    async def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            HTTPException: 400 when it is not valid JSON, 413 when too large.
        """
        raw = await self.body()
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise HTTPException(400, f"request body is not valid JSON: {exc}") from None

    async def form(self) -> FormData:
        """The body parsed as an urlencoded or multipart form.

        Raises:
            HTTPException: 415 for another content type, 400 when malformed, 413 when too large.
        """
        if self._form is None:
            kind = self.content_type
            raw = await self.body()
            try:
                if kind == "application/x-www-form-urlencoded":
                    self._form = parse_urlencoded(raw)
                elif kind == "multipart/form-data":
                    full = self.headers.get("content-type") or ""
                    self._form = parse_multipart(raw, full)
                else:
                    raise HTTPException(
                        415, f"expected a form body, got Content-Type {kind or '(none)'!r}"
                    )
            except ValueError as exc:
                raise HTTPException(400, f"request body is not a valid form: {exc}") from None
        return self._form

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path})"


#: What the lazy slots of a :class:`Request` read as until they are set.
_UNSET: dict[str, Any] = {
    "_headers": None,
    "_query": None,
    "_cookies": None,
    "_body": None,
    "_form": None,
    "_streamed": False,
}


def body_too_large(limit: int) -> HTTPException:
    """The 413 for a body over ``limit`` bytes."""
    return HTTPException(413, f"request body is larger than the limit of {limit} bytes")
