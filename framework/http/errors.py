"""HTTP errors: :class:`HTTPException`, validation failures, and the exception-handler table.

Every error raised while serving a request becomes a response in one place
(:meth:`ExceptionHandlers.response`): a registered ``@exception_handler`` for the nearest class
in the exception's MRO, else the default ``{"code": <status>, "message": ...}`` body.
Unhandled exceptions are logged with their traceback on ``swoop.http`` and answered with 500
(plus a ``"traceback"`` field when ``app.debug`` is on); the worker keeps serving.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from framework.errors import BootError, FrameworkError, describe

if TYPE_CHECKING:
    from framework.http.request import Request
    from framework.http.responses import Response

__all__ = [
    "DuplicateExceptionHandlerError",
    "ExceptionHandlers",
    "FieldError",
    "HTTPException",
    "RequestValidationError",
    "phrase",
]

log = logging.getLogger("swoop.http")


def phrase(status: int) -> str:
    """The reason phrase of ``status`` (``404`` -> ``Not Found``)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class HTTPException(FrameworkError):
    """Raise it in a handler (or middleware) to answer with ``status_code``.

    The default body is ``{"code": status_code, "message": message}``.

    Args:
        status_code: the HTTP status (4xx or 5xx usually).
        message: the ``message`` field; defaults to the reason phrase.
        headers: headers added to the response (``Allow``, ``WWW-Authenticate``...).

    Example::

        >>> from framework.http import HTTPException
        >>> exc = HTTPException(404, "no user 7")
        >>> exc.status_code, exc.message
        (404, 'no user 7')
    """

    def __init__(
        self, status_code: int, message: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        self.status_code = status_code
        self.message = message if message is not None else phrase(status_code)
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status_code}, {self.message!r})"

    def body(self) -> dict[str, Any]:
        return {"code": self.status_code, "message": self.message}


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input: where (``("query", "limit")``) and why."""

    loc: tuple[str | int, ...]
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "message": self.message}


class RequestValidationError(HTTPException):
    """The request's parameters or body failed binding: a 422 listing each bad field."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__(422, "request validation failed")

    def body(self) -> dict[str, Any]:
        return {**super().body(), "errors": [e.as_dict() for e in self.errors]}


class DuplicateExceptionHandlerError(BootError):
    """Two ``@exception_handler`` methods claim the same exception class."""


@dataclass(frozen=True, slots=True)
class RegisteredHandler:
    function: Callable[..., Any]
    takes_request: bool
    is_async: bool
    where: str


class ExceptionHandlers:
    """The exception-handler table of one application, frozen at boot.

    Args:
        render: turns a handler's return value into a :class:`Response`.
        debug: add ``"traceback"`` to 500 bodies.
    """

    def __init__(self, render: Callable[[Any], Response], *, debug: bool = False) -> None:
        self._render = render
        self._debug = debug
        self._table: dict[type[BaseException], RegisteredHandler] = {}
        self._cache: dict[type[BaseException], RegisteredHandler | None] = {}

    def add(self, exc_type: type[BaseException], function: Callable[..., Any], where: str) -> None:
        """Register ``function(exc[, request])`` for ``exc_type``.

        Raises:
            DuplicateExceptionHandlerError: ``exc_type`` already has a handler.
        """
        other = self._table.get(exc_type)
        if other is not None:
            raise DuplicateExceptionHandlerError(
                describe(
                    [
                        f"two exception handlers for {exc_type.__qualname__}",
                        f"first:  {other.where}",
                        f"second: {where}",
                        "fix: keep one @exception_handler per exception class",
                    ]
                )
            )
        params = [
            p
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        self._table[exc_type] = RegisteredHandler(
            function, len(params) >= 2, inspect.iscoroutinefunction(function), where
        )
        self._cache.clear()

    def find(self, exc_type: type[BaseException]) -> RegisteredHandler | None:
        """The handler of the nearest class in ``exc_type.__mro__``, or ``None``."""
        try:
            return self._cache[exc_type]
        except KeyError:
            pass
        found = next((self._table[k] for k in exc_type.__mro__ if k in self._table), None)
        self._cache[exc_type] = found
        return found

    async def response(
        self, exc: BaseException, request: Request | Callable[[], Request]
    ) -> Response:
        """The response for ``exc``; never raises (a failing handler gives a logged 500).

        ``request`` is the :class:`Request`, or a callable that builds it only if a handler
        needs it (endpoints without middleware never build one otherwise).
        """
        handler = self.find(type(exc))
        if handler is not None:
            try:
                if not handler.takes_request:
                    args: tuple[Any, ...] = (exc,)
                else:
                    args = (exc, request() if callable(request) else request)
                result = handler.function(*args)
                if handler.is_async:
                    result = await result
                return self._render(result)
            except Exception as failure:
                log.error(
                    "exception handler %s failed while handling %r",
                    handler.where,
                    exc,
                    exc_info=failure,
                )
                return self._server_error(failure)
        if isinstance(exc, HTTPException):
            return self.default(exc)
        log.error("unhandled error while serving a request", exc_info=exc)
        return self._server_error(exc)

    def default(self, exc: HTTPException) -> Response:
        from framework.http.responses import JSONResponse

        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

    def _server_error(self, exc: BaseException) -> Response:
        from framework.http.responses import JSONResponse

        body: dict[str, Any] = {"code": 500, "message": phrase(500)}
        if self._debug:
            body["traceback"] = "".join(traceback.format_exception(exc))
        return JSONResponse(body, status_code=500)
