"""The HTTP boot step: read controller marks, validate routes, build the ASGI application.

``scanned``: collect the routes of every ``@controller`` bean, parse their patterns and fail
on duplicates (``DuplicateRouteError`` names both handlers), and register the middleware
classes as beans. ``built``: resolve controllers and middleware, precompute each handler's
binding plan and endpoint, compile the router, generate the OpenAPI document, and build
:class:`HttpApp` (``app.extension(HttpExtension).asgi``).

Config keys: ``http.max_body_size`` (bytes, default 1 MiB), ``http.middlewares`` (global
middleware, outermost first), ``http.static_dir`` (default ``<app dir>/public``),
``http.openapi`` (default true), ``app.debug`` (tracebacks in 500 bodies), ``app.name`` and
``app.version`` (OpenAPI info), ``server.root_path`` (the proxy prefix that ``url_for`` and the
OpenAPI ``servers`` carry; ``server.http.root_path`` wins).
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from framework import marks
from framework.container.definitions import BeanDefinition, definition_from_class, location_of
from framework.container.extension import Extension, ScanContext
from framework.container.marks import Scope
from framework.errors import BootError, describe
from framework.http import binding
from framework.http.asgi import HttpApp
from framework.http.endpoint import Run, build_endpoint, chain_runner, head_of
from framework.http.errors import ExceptionHandlers
from framework.http.marks import ControllerMark, ExceptionHandlerMark, RouteMark, default_prefix
from framework.http.middleware import (
    CallNext,
    declared_middleware,
    resolve_middleware,
    unique,
)
from framework.http.openapi import OpenAPIRoute, openapi_document
from framework.http.patterns import PathPattern, join_paths, parse_pattern
from framework.http.request import DEFAULT_MAX_BODY_SIZE, Request
from framework.http.responses import Renderer, Response, dumps
from framework.http.routing import Route, RouteError, Router
from framework.http.static import StaticFiles, default_directory

if TYPE_CHECKING:
    from framework.application import Application
    from framework.config import Config
    from framework.container.container import Container

__all__ = ["HttpExtension"]

Process = Callable[[Request, CallNext], Awaitable[Response]]


@dataclass(slots=True)
class _RouteSpec:
    definition: BeanDefinition
    member: marks.MarkedMember
    mark: RouteMark
    pattern: PathPattern
    name: str
    where: str
    middleware: list[type] = field(default_factory=list)


class HttpExtension(Extension):
    """Serves the application's controllers over HTTP (see the module docs).

    Attributes (after boot):
        asgi: the ASGI application.
        router: the compiled :class:`Router`, for ``url_for``.
        openapi: the OpenAPI document (``None`` when ``http.openapi`` is false).
    """

    def __init__(self) -> None:
        self._specs: list[_RouteSpec] = []
        self._global: list[type] = []
        self._scanned = False
        self.asgi: HttpApp
        self.router: Router[Run]
        self.openapi: dict[str, Any] | None = None

    # -- scan: validate -----------------------------------------------------------------

    def scanned(self, ctx: ScanContext) -> None:
        if self._scanned:
            raise BootError(
                describe(
                    [
                        "this HttpExtension instance already booted another application",
                        "fix: give each Application its own HttpExtension()",
                    ]
                )
            )
        self._scanned = True
        declared = ctx.config.get("http.middlewares", [], type=list[Any])
        self._global = [resolve_middleware(s, "config http.middlewares") for s in declared]
        self._specs = []
        for definition, mark in ctx.bean_classes_with(ControllerMark):
            self._specs.extend(self._controller_routes(definition, mark))
        # compile once with placeholders: duplicates fail now, before any bean is built
        Router([Route(s.pattern, s.mark.methods, None, s.name, s.where) for s in self._specs])
        known = {d.cls for d in ctx.definitions}
        for cls in unique([*self._global, *(c for s in self._specs for c in s.middleware)]):
            if cls not in known:
                ctx.add_bean(definition_from_class(cls))
                known.add(cls)

    def _controller_routes(
        self, definition: BeanDefinition, mark: ControllerMark
    ) -> list[_RouteSpec]:
        cls = definition.cls
        prefix = mark.prefix if mark.prefix is not None else default_prefix(cls)
        around = [resolve_middleware(m, definition.location) for m in declared_middleware(cls)]
        specs: list[_RouteSpec] = []
        for member in marks.marked_members(cls):
            for route in member.find(RouteMark):
                where = location_of(member.function)
                path = join_paths(prefix, member.name if route.path is None else route.path)
                try:
                    pattern = parse_pattern(path, dict(route.params))
                except ValueError as exc:
                    raise RouteError(
                        describe(
                            [
                                f"invalid route on {cls.__qualname__}.{member.name}: {exc}",
                                f"at: {where}",
                                "fix: write parameters as {name} or {name:int|float|uuid|path"
                                "|str}, or constrain them with params={'name': r'regex'}",
                            ]
                        )
                    ) from None
                if route.to_thread and inspect.iscoroutinefunction(member.function):
                    raise RouteError(
                        describe(
                            [
                                f"to_thread=True on async handler {cls.__qualname__}.{member.name}",
                                f"at: {where}",
                                "why: a coroutine runs on the event loop; a thread would only "
                                "create it",
                                "fix: drop to_thread=True, or make the handler a plain def "
                                "(blocking work then runs in a worker thread)",
                            ]
                        )
                    )
                own = [resolve_middleware(m, where) for m in declared_middleware(member.function)]
                name = route.name or f"{cls.__name__}.{member.name}"
                specs.append(
                    _RouteSpec(definition, member, route, pattern, name, where, around + own)
                )
        return specs

    # -- build: compile -----------------------------------------------------------------

    def built(self, app: Application) -> None:
        container, config = app.container, app.config
        max_body = config.get("http.max_body_size", DEFAULT_MAX_BODY_SIZE, type=int)
        errors = ExceptionHandlers(Renderer(), debug=config.get("app.debug", False, type=bool))
        register_exception_handlers(container, errors)
        processes = {c: _process_of(container, c) for c in unique(self._middleware_classes())}
        global_processes = [processes[c] for c in self._global]
        getter = container.optional_getter
        routes: list[Route[Run]] = []
        documented: list[OpenAPIRoute] = []
        for spec in self._specs:
            handler, function, is_async, skip_self = _handler(container, spec)
            if spec.mark.to_thread:
                handler, is_async = _in_thread(handler), True
            plan = binding.plan(
                function,
                path_params=spec.pattern.params,
                bean_getter=getter,
                where=spec.where,
                skip_first=skip_self,
            )
            run = build_endpoint(
                handler,
                is_async=is_async,
                plan=plan,
                renderer=Renderer(spec.mark.status_code, dict(spec.mark.headers)),
                processes=[*global_processes, *(processes[c] for c in spec.middleware)],
                errors=errors,
                max_body_size=max_body,
            )
            routes.append(Route(spec.pattern, spec.mark.methods, run, spec.name, spec.where))
            if spec.mark.include_in_schema:
                documented.append(_documented(spec, function, plan))
        root_path = _root_path(config)
        if config.get("http.openapi", True, type=bool):
            self.openapi = openapi_document(
                documented,
                title=config.get("app.name", "Swoop application", type=str),
                version=config.get("app.version", "0.1.0", type=str),
                root_path=root_path,
            )
            routes.append(self._openapi_route(global_processes, errors, max_body))
        self.router = Router(routes, head=head_of, root_path=root_path)
        static = StaticFiles(_static_dir(app))
        self.asgi = HttpApp(
            app,
            self.router,
            miss=_miss_runner(global_processes, errors, max_body),
            static=static if static.exists() else None,
            scoped=container.has_request_beans,
        )

    def _middleware_classes(self) -> list[type]:
        return [*self._global, *(c for s in self._specs for c in s.middleware)]

    def _openapi_route(
        self, processes: list[Process], errors: ExceptionHandlers, max_body: int
    ) -> Route[Run]:
        body = dumps(self.openapi)

        def openapi() -> Response:
            return Response(body, media_type="application/json")

        run = build_endpoint(
            openapi,
            is_async=False,
            plan=binding.BindingPlan([], set()),
            renderer=Renderer(),
            processes=processes,
            errors=errors,
            max_body_size=max_body,
        )
        return Route(
            parse_pattern("/openapi.json"), ("GET",), run, "openapi", "config http.openapi"
        )


def _documented(
    spec: _RouteSpec, function: Callable[..., Any], plan: binding.BindingPlan
) -> OpenAPIRoute:
    tag = spec.definition.cls.__name__.removesuffix("Controller") or None
    mark = spec.mark
    return OpenAPIRoute(
        spec.pattern, mark.methods, spec.name, function, plan, mark.status_code, mark.summary, tag
    )


def _miss_runner(
    processes: list[Process], errors: ExceptionHandlers, max_body: int
) -> Callable[[HttpApp], Run]:
    """What answers when no route matched, behind the global middleware."""

    def make(http: HttpApp) -> Run:
        async def terminal(request: Request) -> Response:
            try:
                return http.miss_response(request)
            except Exception as exc:
                return await errors.response(exc, request)

        return chain_runner(processes, terminal, errors, max_body)

    return make


def _root_path(config: Config) -> str:
    """The prefix a proxy serves the app under, for ``url_for`` and the OpenAPI ``servers``:
    ``server.http.root_path``, else ``server.root_path`` (the keys the engine's ASGI
    ``root_path`` comes from, so one setting does both)."""
    value = config.get("server.http.root_path", None, type=str)
    if value is None:
        value = config.get("server.root_path", "", type=str)
    return value.rstrip("/")


def _static_dir(app: Application) -> str:
    configured = app.config.get("http.static_dir", None)
    if configured:
        return str(configured)
    app_dir = app.app_dir or app.config.get("app.dir", None)
    return os.fspath(default_directory(app_dir))


def _singleton(container: Container, cls: type) -> bool:
    return container.definition_of(cls).scope is Scope.SINGLETON


def _process_of(container: Container, cls: type) -> Process:
    if _singleton(container, cls):
        process: Process = container.get(cls).process
        return process
    get = container.getter(cls)

    def per_request(request: Request, call_next: CallNext) -> Awaitable[Response]:
        result: Awaitable[Response] = get().process(request, call_next)
        return result

    return per_request


def _handler(
    container: Container, spec: _RouteSpec
) -> tuple[Callable[..., Any], Callable[..., Any], bool, bool]:
    """The callable to run, the function to read hints from, is-async, and skip-``self``."""
    cls, name, function = spec.definition.cls, spec.member.name, spec.member.function
    skip_self = not isinstance(inspect.getattr_static(cls, name, None), staticmethod)
    if _singleton(container, cls):
        handler = getattr(container.get(cls), name)
        is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(function)
        return handler, function, is_async, skip_self
    get = container.getter(cls)  # a request or prototype controller: one per call
    is_async = inspect.iscoroutinefunction(function)

    def per_call(**kwargs: Any) -> Any:
        return getattr(get(), name)(**kwargs)

    return per_call, function, is_async, skip_self


def _in_thread(handler: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """``handler`` run in anyio's worker threads (the context, request scope included, goes
    along)."""

    async def threaded(**kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(functools.partial(handler, **kwargs))

    return threaded


def register_exception_handlers(container: Container, errors: ExceptionHandlers) -> None:
    for definition in container.definitions:
        for member in marks.marked_members(definition.cls):
            for mark in member.find(ExceptionHandlerMark):
                where = (
                    f"{definition.cls.__qualname__}.{member.name} ({location_of(member.function)})"
                )
                if definition.scope is not Scope.SINGLETON:
                    raise RouteError(
                        describe(
                            [
                                f"exception handler {where} is on a {definition.scope.value} bean",
                                "fix: declare exception handlers on singleton beans",
                            ]
                        )
                    )
                method = getattr(container.get(definition.cls), member.name)
                for exc_type in mark.types:
                    errors.add(exc_type, method, where)
