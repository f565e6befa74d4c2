"""Responses, and how a handler's return value becomes one.

A handler may return:

* a :class:`Response` (or subclass): sent as is;
* ``dict``, ``list``, a dataclass, a pydantic model, a number or bool: JSON (orjson);
* ``str``: ``text/plain; charset=utf-8``; ``bytes``: ``application/octet-stream``;
* ``None``: an empty body with status 204 (or the decorator's ``status_code``);
* ``(body, status)`` or ``(body, status, headers)``: any of the above, with that status and
  extra headers.

The decorator's ``status_code`` and ``headers`` apply to every rendered value (not to a
returned :class:`Response`, which carries its own).
"""

from __future__ import annotations

import email.utils
import functools
import mimetypes
import os
import stat as stat_module
import sys
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any, ClassVar
from urllib.parse import quote

import anyio
import anyio.to_thread
import orjson

from framework.blank import blank_of
from framework.http.conditional import Selection, select
from framework.http.errors import HTTPException
from framework.http.headers import Headers, MutableHeaders

__all__ = [
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Renderer",
    "Response",
    "StreamingResponse",
    "dumps",
]

Send = Any  # the ASGI send callable; kept loose at this boundary
Scope = dict[str, Any]

_NO_BODY_STATUS = frozenset({204, 304})


def _default(value: Any) -> Any:
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__qualname__} is not JSON serializable")


@functools.lru_cache(maxsize=64)
def _content_type(media_type: str, charset: str) -> bytes:
    if media_type.startswith("text/") and "charset=" not in media_type:
        media_type += f"; charset={charset}"
    return media_type.encode("latin-1")


TEXT_HEADER = (b"content-type", _content_type("text/plain", "utf-8"))
JSON_HEADER = (b"content-type", _content_type("application/json", "utf-8"))

#: ``(b"content-length", b"<n>")`` for every ``n`` below :data:`SMALL`, made once: indexing
#: this costs about a third of formatting the number on each response
LENGTHS = tuple((b"content-length", b"%d" % n) for n in range(1024))
SMALL = len(LENGTHS)


def dumps(value: Any) -> bytes:
    """Serialize to JSON bytes: orjson, plus pydantic models, sets, ``Decimal`` and paths.

    Raises:
        TypeError: a value of an unsupported type.
    """
    return orjson.dumps(value, default=_default)


class Response:
    """An HTTP response with an in-memory body.

    Args:
        content: ``bytes``, ``str`` (encoded with ``charset``) or ``None`` (empty); subclasses
            render other content (``JSONResponse`` any JSON-able value).
        status_code: the status.
        headers: extra headers; ``Content-Length`` and ``Content-Type`` are set for you.
        media_type: the ``Content-Type`` (``text/*`` types get ``; charset=utf-8``).

    ``headers`` is a mutable view (``response.headers["x-a"] = "1"``); assigning ``body``
    updates ``Content-Length``.

    The in-memory responses keep their state in slots (every request behind a middleware
    builds one); subclasses without ``__slots__`` may add attributes as usual.
    """

    __slots__ = ("_body", "raw_headers", "status_code")

    media_type: ClassVar[str | None] = None
    charset: ClassVar[str] = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.status_code = status_code
        self._body = self.render(content)
        self.raw_headers: list[tuple[bytes, bytes]] = (
            [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            if headers
            else []
        )
        self._complete_headers(
            bool(headers), media_type if media_type is not None else self.media_type
        )

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, bytes):
            return content
        if isinstance(content, bytearray | memoryview):
            return bytes(content)
        if isinstance(content, str):
            return content.encode(self.charset)
        raise TypeError(
            f"{type(self).__name__} cannot send {type(content).__qualname__}; pass bytes or "
            "str, or use JSONResponse"
        )

    def _complete_headers(self, given: bool, media_type: str | None) -> None:
        raw = self.raw_headers
        if media_type is not None and not (given and any(k == b"content-type" for k, _ in raw)):
            raw.append((b"content-type", _content_type(media_type, self.charset)))
        if self.status_code >= 200 and self.status_code not in _NO_BODY_STATUS:
            if given:
                self._set_length()
            else:
                length = self._length()
                if length is not None:
                    raw.append((b"content-length", b"%d" % length))

    def _length(self) -> int | None:
        """The ``Content-Length`` to send, ``None`` when unknown (streaming)."""
        return len(self._body)

    def _set_length(self) -> None:
        self.raw_headers[:] = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        length = self._length()
        if length is not None:
            self.raw_headers.append((b"content-length", b"%d" % length))

    @property
    def body(self) -> bytes:
        return self._body

    @body.setter
    def body(self, value: bytes) -> None:
        self._body = value
        self._set_length()

    @property
    def headers(self) -> MutableHeaders:
        view = _new_view()  # MutableHeaders(raw) without the call of its __init__
        view.raw = self.raw_headers
        return view

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        max_age: int | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = "lax",
    ) -> None:
        """Add a ``Set-Cookie`` header."""
        parts = [f"{key}={quote(value, safe='')}", f"Path={path}"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if domain:
            parts.append(f"Domain={domain}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite:
            parts.append(f"SameSite={samesite.capitalize()}")
        self.raw_headers.append((b"set-cookie", "; ".join(parts).encode("latin-1")))

    def delete_cookie(self, key: str, *, path: str = "/", domain: str | None = None) -> None:
        """Expire a cookie."""
        self.set_cookie(key, max_age=0, path=path, domain=domain)

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self._body})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code})"


class PlainTextResponse(Response):
    """``text/plain; charset=utf-8``."""

    __slots__ = ()

    media_type = "text/plain"


class HTMLResponse(Response):
    """``text/html; charset=utf-8``."""

    __slots__ = ()

    media_type = "text/html"


class JSONResponse(Response):
    """``application/json``; ``content`` is any value :func:`dumps` accepts."""

    __slots__ = ()

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class RedirectResponse(Response):
    """A redirect to ``url`` (307 by default: the method and body are kept)."""

    def __init__(
        self, url: str, status_code: int = 307, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(None, status_code, headers)
        self.headers["location"] = quote(url, safe=":/%#?=@[]!$&'()*+,;~")


class StreamingResponse(Response):
    """A body sent in chunks from an (async) iterable of ``bytes`` or ``str``.

    Synchronous iterables are advanced in a worker thread, so they may block. No
    ``Content-Length`` is sent unless given in ``headers``.
    """

    def __init__(
        self,
        content: AsyncIterable[bytes | str] | Iterable[bytes | str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self._iterable = content
        super().__init__(None, status_code, headers, media_type)

    def _length(self) -> int | None:
        return None

    async def _chunks(self) -> AsyncIterable[bytes | str]:
        if isinstance(self._iterable, AsyncIterable):
            async for item in self._iterable:
                yield item
            return
        iterator: Iterator[bytes | str] = iter(self._iterable)

        def advance() -> bytes | str | None:
            return next(iterator, None)

        while True:
            chunk: bytes | str | None = await anyio.to_thread.run_sync(advance)
            if chunk is None:
                return
            yield chunk

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if scope.get("method") != "HEAD":
            async for chunk in self._chunks():
                data = chunk.encode(self.charset) if isinstance(chunk, str) else chunk
                if data:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


class FileResponse(Response):
    """A file sent in chunks, with ``Content-Length``, ``Last-Modified``, a strong ``ETag``
    (from the size and modification time, as nginx does) and ``Accept-Ranges: bytes``.

    A ``GET`` or ``HEAD`` with status 200 answers the request's conditional and range headers
    (:mod:`framework.http.conditional`): 412 with no body when ``If-Match`` or
    ``If-Unmodified-Since`` names another version of the file, 304 with no body when
    ``If-None-Match`` or ``If-Modified-Since`` shows the client's copy is current, 206 with
    ``Content-Range`` for one satisfiable ``Range`` (``If-Range`` honoured), 416 with
    ``Content-Range: bytes */size`` when no range overlaps the file. This happens in
    :meth:`evaluate`, called when the response is sent unless done earlier: static files are
    evaluated before middleware sees them, so an access log shows 304/206; a handler's
    ``FileResponse`` shows 200 there.

    Args:
        path: the file.
        filename: when given, ``Content-Disposition: attachment; filename=...``.
        media_type: defaults to a guess from the file name.
        stat_result: the file's ``os.stat``, when the caller has it already.

    Raises:
        HTTPException: 404 when ``path`` is not a regular file.
    """

    chunk_size = 64 * 1024

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
    ) -> None:
        self.path = os.fspath(path)
        try:
            self.stat = stat_result or os.stat(self.path)
        except OSError:
            raise HTTPException(404, "file not found") from None
        if not stat_module.S_ISREG(self.stat.st_mode):
            raise HTTPException(404, "file not found")
        if media_type is None:
            media_type = (
                mimetypes.guess_type(filename or self.path)[0] or "application/octet-stream"
            )
        super().__init__(None, status_code, headers, media_type)
        self.etag = f'"{self.stat.st_mtime_ns:x}-{self.stat.st_size:x}"'
        self._selection = Selection(status_code, 0, self.stat.st_size - 1)
        self._evaluated = False
        extra = self.headers
        extra["last-modified"] = email.utils.formatdate(self.stat.st_mtime, usegmt=True)
        extra["etag"] = self.etag
        extra["accept-ranges"] = "bytes"
        if filename is not None:
            extra["content-disposition"] = f"attachment; filename*=utf-8''{quote(filename)}"

    def _length(self) -> int | None:
        return self.stat.st_size

    def evaluate(self, method: str, headers: Headers) -> None:
        """Answer the request's ``If-Match``, ``If-Unmodified-Since``, ``If-None-Match``,
        ``If-Modified-Since``, ``Range`` and ``If-Range``: set the status (412, 304, 206, 416
        or unchanged) and the headers that go with it. Only the first call counts; a status
        other than 200 is left alone.
        """
        if self._evaluated:
            return
        self._evaluated = True
        if self.status_code != 200:
            return
        size = self.stat.st_size
        selection = self._selection = select(
            method,
            etag=self.etag,
            last_modified=int(self.stat.st_mtime),
            size=size,
            if_none_match=_joined(headers, "if-none-match"),
            if_modified_since=headers.get("if-modified-since"),
            range=headers.get("range"),
            if_range=headers.get("if-range"),
            if_match=_joined(headers, "if-match"),
            if_unmodified_since=headers.get("if-unmodified-since"),
        )
        if selection.status == 200:
            return
        self.status_code = selection.status
        if selection.status == 304:
            # RFC 9110 §15.4.5: keep the validators and caching headers, drop the
            # representation's metadata that a body would have needed
            self.raw_headers[:] = [(k, v) for k, v in self.raw_headers if k not in _NOT_IN_304]
            return
        extra = self.headers
        if selection.status == 206:
            extra["content-range"] = f"bytes {selection.start}-{selection.end}/{size}"
            extra["content-length"] = str(selection.end - selection.start + 1)
            return
        if selection.status == 416:
            extra["content-range"] = f"bytes */{size}"
        extra["content-length"] = "0"  # 416 and 412: no body
        del extra["content-type"]

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        method = scope.get("method", "GET")
        if not self._evaluated:
            self.evaluate(method, Headers(scope.get("headers") or []))
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if method == "HEAD" or self.status_code in _EMPTY_STATUS:
            await send({"type": "http.response.body", "body": b""})
            return
        start, end = self._selection.start, self._selection.end
        remaining = end - start + 1
        async with await anyio.open_file(self.path, "rb") as file:
            if start:
                await file.seek(start)
            while True:
                chunk = await file.read(min(self.chunk_size, remaining))
                remaining -= len(chunk)
                more = remaining > 0 and bool(chunk)  # a file cut short ends the body early
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if not more:
                    return


_EMPTY_STATUS = frozenset({304, 412, 416})
_NOT_IN_304 = frozenset(
    {b"content-type", b"content-length", b"content-encoding", b"content-language"}
)


def _joined(headers: Headers, name: str) -> str | None:
    """Every value of a list header as one (clients may split ``If-None-Match`` in two)."""
    values = headers.getall(name)
    return ", ".join(values) if values else None


# instances without the call of __init__, for the per-request path (see framework.blank)
_new_view = blank_of(MutableHeaders)
_new_text = blank_of(PlainTextResponse)
_new_json = blank_of(JSONResponse)


class Renderer:
    """Turns one route's return values into responses, with the route's status and headers.

    Args:
        status_code: the status of rendered values (``None``: 200, or 204 for ``None``).
        headers: headers added to rendered values.
    """

    __slots__ = ("_plain", "_status", "headers", "status_code")

    def __init__(self, status_code: int | None = None, headers: Mapping[str, str] | None = None):
        self.status_code = status_code
        self.headers = dict(headers or {})
        # no route headers and a status that is not "no body": the common case below
        self._status = status_code or 200
        self._plain = not self.headers and self._status not in _NO_BODY_STATUS

    def __call__(self, result: Any) -> Response:
        """The response for ``result`` (see the module docs for the rules).

        Raises:
            TypeError: ``result`` cannot be rendered (the caller turns it into a 500).
        """
        kind = type(result)
        if self._plain and (kind is str or kind is dict or kind is list):
            # built field by field, without the general __init__: behind a middleware every
            # request builds one, and this is the common case
            response: Response
            if kind is str:
                response = _new_text()
                response._body = body = result.encode()
                content_type = TEXT_HEADER
            else:
                response = _new_json()
                response._body = body = dumps(result)
                content_type = JSON_HEADER
            response.status_code = self._status
            size = len(body)
            response.raw_headers = [
                content_type,
                LENGTHS[size] if size < SMALL else (b"content-length", b"%d" % size),
            ]
            return response
        if isinstance(result, Response):
            return result
        if kind is tuple:
            return self._tuple(result)
        return self._render(result, self.status_code, self.headers)

    def _tuple(self, result: tuple[Any, ...]) -> Response:
        if len(result) not in (2, 3) or not isinstance(result[1], int):
            raise TypeError(
                "a handler returned a tuple that is not (body, status) or (body, status, headers)"
            )
        body, status, *rest = result
        headers = {**self.headers, **(rest[0] if rest else {})}
        if isinstance(body, Response):
            body.status_code = status
            for name, value in headers.items():
                body.headers[name] = value
            return body
        return self._render(body, status, headers)

    @staticmethod
    def _render(result: Any, status: int | None, headers: Mapping[str, str]) -> Response:
        if result is None:
            return Response(None, status or 204, headers)
        if isinstance(result, str):
            return PlainTextResponse(result, status or 200, headers)
        if isinstance(result, bytes | bytearray | memoryview):
            return Response(bytes(result), status or 200, headers, "application/octet-stream")
        try:
            return JSONResponse(result, status or 200, headers)
        except TypeError:
            raise TypeError(
                f"cannot render a handler's return value of type {type(result).__qualname__}; "
                "return a dict, list, dataclass, str, bytes or a Response"
            ) from None
