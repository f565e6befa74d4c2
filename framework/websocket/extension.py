"""The WebSocket boot step: read module and controller marks, compile command tables, serve.

``scanned``: validate every ``@ws_module`` (path, parser, hooks, controllers, commands;
duplicates name both handlers), register listed controllers as beans and the
:class:`Gateway` as a bean. ``built``: bind each hook and command to its bean and precompute
its parameter plan, then build the :class:`WebSocketApp` (``.asgi``). ``startup``: connect
the bus (the hub or Redis, chosen by :func:`framework.bus.factory.build_bus` from ``ws.bus``
and ``ws.hub``). ``shutdown``: close the remaining connections with 1001, then the bus. A
process manager closes them itself with :meth:`WebSocketExtension.close_all` before
stopping the engine: 1001 on stop, 1012 on reload.

In a business worker of a split server (``ws.gateway_sockets`` set by the process manager)
the connections live in the gateways: the extension builds a
:class:`~framework.websocket.split.business.BusinessNode` (``.business``) that the worker
starts instead of an engine, and the Gateway API goes over its links
(:class:`~framework.websocket.split.bus.LinkedBus`).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from framework.container.definitions import BeanDefinition, definition_from_class
from framework.container.extension import Extension, ScanContext
from framework.container.marks import Scope
from framework.http.errors import ExceptionHandlers
from framework.http.extension import register_exception_handlers
from framework.http.routing import Route, Router
from framework.websocket.asgi import WebSocketApp
from framework.websocket.binding import plan_handler
from framework.websocket.clientid import ClientIdFactory
from framework.websocket.connection import CloseCode
from framework.websocket.dispatch import Dispatcher
from framework.websocket.gateway import Gateway
from framework.websocket.marks import Hook, WsModuleMark
from framework.websocket.routing import (
    CompiledModule,
    Handler,
    HandlerSpec,
    ModuleSpec,
    check_paths,
    module_spec,
)
from framework.websocket.settings import WsSettings

if TYPE_CHECKING:
    from framework.application import Application
    from framework.container.container import Container
    from framework.websocket.split.business import BusinessNode

__all__ = ["WebSocketExtension"]


class WebSocketExtension(Extension):
    """Serves the application's ``@ws_module`` classes (see the module docs).

    Attributes (after boot):
        asgi: the ASGI callable for ``websocket`` scopes (:func:`ws_asgi_app` adds HTTP).
        gateway: the :class:`Gateway` (also a bean).
        settings: the ``ws.*`` config values.
        modules: the compiled modules, by path.
        business: in a business worker of a split server, its links to the gateways
            (``None`` otherwise).
    """

    def __init__(self) -> None:
        self._specs: list[ModuleSpec] = []
        self.gateway: Gateway
        self.settings: WsSettings
        self.asgi: WebSocketApp
        self.modules: dict[str, CompiledModule] = {}
        self.business: BusinessNode | None = None

    def scanned(self, ctx: ScanContext) -> None:
        from framework.bus.factory import build_bus  # the bus package builds on this one

        self.settings = WsSettings.from_config(ctx.config)
        if self.settings.gateway_sockets:
            self.gateway = self._business_gateway()
        else:
            ids = ClientIdFactory(self.settings.node, self.settings.worker)
            registry, bus = build_bus(self.settings, ids)
            self.gateway = Gateway(ids, registry, bus)
        self._specs = [module_spec(cls, mark) for cls, mark in ctx.scan.classes_with(WsModuleMark)]
        check_paths(self._specs)
        known = {d.cls for d in ctx.definitions}
        for spec in self._specs:
            for cls in (spec.cls, *spec.mark.controllers):
                if cls not in known:
                    ctx.add_bean(definition_from_class(cls))
                    known.add(cls)
        ctx.add_bean(BeanDefinition("gateway", Gateway, instance=self.gateway, has_instance=True))

    def _business_gateway(self) -> Gateway:
        """The Gateway of a business worker: no connections of its own, a LinkedBus."""
        from framework.bus.cluster import worker_key
        from framework.bus.factory import build_bus
        from framework.websocket.connection import SendStats
        from framework.websocket.split.bus import LinkedBus
        from framework.websocket.split.business import BusinessNode

        # its client ids are never handed out; the millisecond boot keeps its bus name unique
        # while the worker it replaces on a reload is still connected
        ids = ClientIdFactory(self.settings.node, self.settings.worker, time.time() * 1000)
        registry, inner = build_bus(self.settings, ids)
        self.business = node = BusinessNode(self.settings, worker_key(ids), SendStats())
        gateway = Gateway(ids, registry, LinkedBus(inner, node))
        node.send_stats = gateway.stats
        return gateway

    def built(self, app: Application) -> None:
        container = app.container
        errors = ExceptionHandlers(lambda value: value)
        register_exception_handlers(container, errors)
        getter = container.optional_getter
        routes: list[Route[tuple[CompiledModule, Dispatcher]]] = []
        for spec in self._specs:
            module = _compile(container, spec, getter)
            self.modules[spec.mark.path] = module
            routes.append(
                Route(
                    spec.pattern,
                    ("GET",),
                    (module, Dispatcher(module, errors, container)),
                    module.name,
                    spec.where,
                )
            )
        self.asgi = WebSocketApp(Router(routes), self.gateway, self.settings)
        if self.business is not None:
            self.business.router = self.asgi.router

    async def startup(self, app: Application) -> None:
        start = getattr(self.gateway.bus, "start", None)
        if start is not None:  # a bus across workers connects to the hub or Redis
            await start()

    async def shutdown(self, app: Application) -> None:
        if len(self.gateway.registry):
            await self.close_all(CloseCode.GOING_AWAY, "server stopping")
        await self.asgi.heartbeat.stop()
        if self.business is not None:
            await self.business.aclose()
        await self.gateway.bus.aclose()

    async def close_all(self, code: int, reason: str = "", *, grace: float | None = None) -> None:
        """Close every WebSocket of this worker with ``code`` and refuse new ones with it.

        The process manager calls it before it stops the engine (which would otherwise cut
        the connections with its own code): ``close_all(1001, "server stopping")`` on stop,
        ``close_all(1012, "server reloading")`` on reload. Returns once every connection is
        gone, or after ``grace`` seconds (default ``ws.close_timeout``).
        """
        await self.asgi.close_all(code, reason, grace=grace)


def _compile(
    container: Container, spec: ModuleSpec, getter: Callable[[Any], Callable[[], Any] | None]
) -> CompiledModule:
    path_names = {p.name for p in spec.pattern.params}
    text = bool(getattr(spec.parser, "text_data", False))

    def build(handler: HandlerSpec, hook: Hook | None) -> Handler:
        target, is_async, skip_self = _target(container, handler)
        invoke, takes_text = plan_handler(
            target,
            handler.function,
            hook=hook,
            path_names=path_names,
            bean_getter=getter,
            text=text,
            where=handler.where,
            skip_first=skip_self,
        )
        return Handler(invoke, is_async, handler.label, takes_text)

    commands = {cmd: build(h, None) for cmd, h in spec.commands.items()}
    hooks = {hook: build(h, hook) for hook, h in spec.hooks.items()}
    default = spec.mark.default_command
    return CompiledModule(
        name=spec.cls.__qualname__,
        path=spec.mark.path,
        parser=spec.parser,
        commands=commands,
        default=commands[default] if default is not None else None,
        handshake=hooks.get(Hook.HANDSHAKE),
        open=hooks.get(Hook.OPEN),
        message=hooks.get(Hook.MESSAGE),
        close=hooks.get(Hook.CLOSE),
    )


def _target(container: Container, handler: HandlerSpec) -> tuple[Callable[..., Any], bool, bool]:
    """The callable to run, is-async, and skip-``self``."""
    cls, name, function = handler.owner, handler.name, handler.function
    skip_self = not isinstance(inspect.getattr_static(cls, name, None), staticmethod)
    if container.definition_of(cls).scope is Scope.SINGLETON:
        bound = getattr(container.get(cls), name)
        is_async = inspect.iscoroutinefunction(bound) or inspect.iscoroutinefunction(function)
        return bound, is_async, skip_self
    get = container.getter(cls)  # a request or prototype bean: one per call

    def per_call(*args: Any, **kwargs: Any) -> Any:
        return getattr(get(), name)(*args, **kwargs)

    return per_call, inspect.iscoroutinefunction(function), skip_self
