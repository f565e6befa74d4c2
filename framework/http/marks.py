"""The HTTP decorators: ``controller``, ``request_mapping`` (and ``get``/``post``/...),
``middleware`` and ``exception_handler``.

They only record frozen marks (STYLE.md §2); :class:`framework.http.HttpExtension` reads them
at boot, validates them across controllers and compiles the router.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, overload

from framework import marks
from framework.container.marks import BeanMark
from framework.errors import FrameworkError

__all__ = [
    "ControllerMark",
    "ExceptionHandlerMark",
    "MiddlewareMark",
    "RouteDeclarationError",
    "RouteMark",
    "controller",
    "default_prefix",
    "delete",
    "exception_handler",
    "get",
    "middleware",
    "patch",
    "post",
    "put",
    "request_mapping",
]

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 method token
_BAD_PATH_CHARS = re.compile(r"[\s?#]")


class RouteDeclarationError(FrameworkError):
    """An HTTP decorator was given arguments it cannot use (raised at decoration time)."""


@dataclass(frozen=True, slots=True)
class ControllerMark:
    """Recorded by :func:`controller`. ``prefix`` is ``None`` for the class-name default."""

    prefix: str | None = None


@dataclass(frozen=True, slots=True)
class RouteMark:
    """Recorded by :func:`request_mapping` and its shortcuts, one per decorator."""

    path: str | None
    methods: tuple[str, ...]
    name: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    status_code: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    summary: str | None = None
    include_in_schema: bool = True
    to_thread: bool = False


@dataclass(frozen=True, slots=True)
class MiddlewareMark:
    """Recorded by :func:`middleware`: classes (or ``"module:Class"`` strings), in order."""

    classes: tuple[type | str, ...]


@dataclass(frozen=True, slots=True)
class ExceptionHandlerMark:
    """Recorded by :func:`exception_handler`: the exception classes the method handles."""

    types: tuple[type[BaseException], ...]


def default_prefix(cls: type) -> str:
    """Swoft's implicit prefix: ``UserController`` -> ``/user``, ``UserProfileController`` ->
    ``/userProfile`` (the class name without ``Controller``, in lower camel case)."""
    name = cls.__name__
    if name.endswith("Controller") and name != "Controller":
        name = name[: -len("Controller")]
    return "/" + name[:1].lower() + name[1:]


def _check_path(path: str, what: str) -> None:
    if _BAD_PATH_CHARS.search(path):
        raise RouteDeclarationError(
            f"{what} {path!r} contains whitespace, '?' or '#'; a route is a path only: "
            "declare query parameters as handler parameters instead."
        )


@overload
def controller(cls: C, /) -> C: ...
@overload
def controller(prefix: str | None = None, /) -> Callable[[C], C]: ...
def controller(prefix: str | type | None = None, /) -> Any:
    """Make a class an HTTP controller: a singleton bean whose mapped methods are routes.

    Args:
        prefix: prepended to every route of the class. Omitted (``@controller`` or
            ``@controller()``), it is derived from the class name as Swoft does:
            ``UserController`` -> ``/user``. ``""`` or ``"/"`` mounts the routes at the root.

    Returns:
        The class itself, unchanged (it also carries a bean mark).

    Raises:
        RouteDeclarationError: the prefix contains whitespace, ``?`` or ``#``.

    Example::

        >>> from framework.http import controller, get
        >>> @controller("/hello")
        ... class HelloController:
        ...     @get("/{name}")
        ...     async def greet(self, name: str) -> dict[str, str]:
        ...         return {"hello": name}
        >>> HelloController.__name__
        'HelloController'
    """
    if isinstance(prefix, type):
        return _record_controller(prefix, None)
    if prefix is not None:
        _check_path(prefix, "controller prefix")

    def record(cls: C) -> C:
        return _record_controller(cls, prefix)

    return record


def _record_controller(cls: C, prefix: str | None) -> C:
    marks.attach(cls, ControllerMark(prefix))
    if marks.first(cls, BeanMark) is None:
        marks.attach(cls, BeanMark())
    return cls


def request_mapping(
    path: str | None = None,
    *,
    methods: Iterable[str] = ("GET",),
    name: str | None = None,
    params: Mapping[str, str] | None = None,
    status_code: int | None = None,
    headers: Mapping[str, str] | None = None,
    summary: str | None = None,
    include_in_schema: bool = True,
    to_thread: bool = False,
) -> Callable[[F], F]:
    """Map a controller method to a route: ``prefix + path`` for the given HTTP methods.

    Args:
        path: appended to the controller prefix (``"/{id:int}"``; Swoft's ``"index"`` without a
            leading slash works too). ``None`` uses the method name, as Swoft does; ``""`` or
            ``"/"`` maps the prefix itself. Parameters are ``{name}`` or ``{name:converter}``
            with converters ``str`` (default), ``int``, ``float``, ``uuid`` and ``path``.
        methods: HTTP methods (``GET`` by default). ``HEAD`` and ``OPTIONS`` are answered
            automatically unless mapped explicitly.
        name: the route name for :meth:`Router.url_for`; defaults to ``Class.method``.
        params: per-parameter regexes, as Swoft's ``params={"id": r"\\d+"}``.
        status_code: the status of rendered return values (default 200).
        headers: headers added to rendered return values.
        summary: OpenAPI summary (defaults to the first docstring line).
        include_in_schema: ``False`` leaves the route out of ``/openapi.json``.
        to_thread: run a plain ``def`` handler in a worker thread (``anyio.to_thread``, at
            most 40 at once) instead of on the event loop: for handlers that block (file
            or socket I/O, a sync database driver, CPU work). Not for ``async def``
            handlers: that is a boot error.

    Raises:
        RouteDeclarationError: a method is not an HTTP token, a status is out of range, or the
            path contains whitespace, ``?`` or ``#``. Pattern errors (unknown converter,
            bad regex) are reported at boot with the handler's location.

    Example::

        >>> from framework.http import request_mapping
        >>> class UserController:
        ...     @request_mapping("/{id:int}", methods=["GET", "PUT"], params={"id": r"\\d{1,9}"})
        ...     async def user(self, id: int) -> dict[str, int]:
        ...         return {"id": id}
    """
    if path is not None:
        _check_path(path, "route path")
    normalized: list[str] = []
    for method in methods:
        upper = method.upper()
        if not _TOKEN.match(upper):
            raise RouteDeclarationError(
                f"HTTP method {method!r} is not a method token; use e.g. 'GET' or 'POST'."
            )
        if upper not in normalized:
            normalized.append(upper)
    if not normalized:
        raise RouteDeclarationError("request_mapping needs at least one HTTP method.")
    if status_code is not None and not 100 <= status_code <= 599:
        raise RouteDeclarationError(f"status_code {status_code} is not an HTTP status (100-599).")
    mark = RouteMark(
        path=path,
        methods=tuple(normalized),
        name=name,
        params=tuple((params or {}).items()),
        status_code=status_code,
        headers=tuple((headers or {}).items()),
        summary=summary,
        include_in_schema=include_in_schema,
        to_thread=to_thread,
    )
    return marks.recorder(mark)


class _Shortcut(Protocol):
    """The signature of ``get``/``post``/``put``/``patch``/``delete``."""

    def __call__(
        self,
        path: str | None = None,
        *,
        name: str | None = None,
        params: Mapping[str, str] | None = None,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        summary: str | None = None,
        include_in_schema: bool = True,
        to_thread: bool = False,
    ) -> Callable[[F], F]: ...


def _shortcut(method: str) -> _Shortcut:
    def shortcut(
        path: str | None = None,
        *,
        name: str | None = None,
        params: Mapping[str, str] | None = None,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        summary: str | None = None,
        include_in_schema: bool = True,
        to_thread: bool = False,
    ) -> Callable[[F], F]:
        return request_mapping(
            path,
            methods=(method,),
            name=name,
            params=params,
            status_code=status_code,
            headers=headers,
            summary=summary,
            include_in_schema=include_in_schema,
            to_thread=to_thread,
        )

    shortcut.__name__ = shortcut.__qualname__ = method.lower()
    shortcut.__doc__ = (
        f"``request_mapping(path, methods=['{method}'], ...)``: see :func:`request_mapping`."
    )
    return shortcut


get: _Shortcut = _shortcut("GET")
post: _Shortcut = _shortcut("POST")
put: _Shortcut = _shortcut("PUT")
patch: _Shortcut = _shortcut("PATCH")
delete: _Shortcut = _shortcut("DELETE")


def middleware(*classes: type | str) -> Callable[[F], F]:
    """Run middleware around every route of a controller class, or around one method.

    Several classes in one decorator, or several stacked decorators, run in the order they are
    written (top one outermost). Global middleware (config ``http.middlewares``) run outside
    controller middleware, which run outside method middleware.

    Args:
        classes: middleware classes, or ``"module:Class"`` strings resolved at boot. Each is a
            bean with ``async def process(self, request, call_next) -> Response``.

    Raises:
        RouteDeclarationError: no class was given.

    Example::

        >>> from framework.http import controller, get, middleware
        >>> class Timing:
        ...     async def process(self, request, call_next):
        ...         return await call_next(request)
        >>> @controller
        ... @middleware(Timing)
        ... class PingController:
        ...     @get("/")
        ...     async def ping(self) -> str:
        ...         return "pong"
    """
    if not classes:
        raise RouteDeclarationError("@middleware needs at least one middleware class.")
    return marks.recorder(MiddlewareMark(tuple(classes)))


def exception_handler(*types: type[BaseException]) -> Callable[[F], F]:
    """Make a method of a bean the handler of the given exception classes.

    The method is called as ``handler(exc, request)`` (or ``handler(exc)``) and returns what a
    route may return (a ``Response``, a dict, ...). For a raised exception, the handler of the
    nearest class in its MRO wins, as Swoft's ``@ExceptionHandler`` does.

    Raises:
        RouteDeclarationError: no class was given, or one is not an exception class.

    Example::

        >>> from framework import bean
        >>> from framework.http import JSONResponse, exception_handler
        >>> @bean
        ... class Errors:
        ...     @exception_handler(KeyError)
        ...     def missing(self, exc: KeyError) -> JSONResponse:
        ...         return JSONResponse({"code": 404, "message": "no such key"}, status_code=404)
    """
    if not types:
        raise RouteDeclarationError("@exception_handler needs at least one exception class.")
    for tp in types:
        if not (isinstance(tp, type) and issubclass(tp, BaseException)):
            raise RouteDeclarationError(
                f"@exception_handler got {tp!r}; pass exception classes like ValueError."
            )
    return marks.recorder(ExceptionHandlerMark(tuple(types)))
