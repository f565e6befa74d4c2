"""The engine interface: an HTTP/WebSocket protocol server used as a library.

An engine serves one ASGI app on sockets that are already bound and listening (the master
binds them once, see :mod:`framework.server.sockets`); it never binds, forks or installs
signal handlers itself, since the process manager owns all three. Two engines exist:

- ``"hypercorn"`` (default): HTTP/1.1, HTTP/2 over cleartext (h2c) and WebSocket.
- ``"uvicorn"``: HTTP/1.1 and WebSocket with httptools on uvloop, the faster choice for
  HTTP/1.1 traffic; needs the ``fast`` extra.
"""

from __future__ import annotations

import importlib.util
import inspect
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn, Protocol, cast

import anyio

from framework.errors import FrameworkError
from framework.server.typing import AnyASGIApp

__all__ = [
    "Engine",
    "EngineError",
    "EngineOptions",
    "EngineUnavailableError",
    "LifespanStartupError",
    "ShutdownTrigger",
    "answer_lifespan",
    "engine_named",
    "entry_of",
    "run",
]

ShutdownTrigger = Callable[[], Awaitable[object]]
"""Returns once a graceful stop should begin, e.g. ``event.wait`` of an anyio/asyncio Event."""

ENGINE_NAMES = ("hypercorn", "uvicorn")


class EngineError(FrameworkError):
    """An engine could not be chosen or could not serve."""


class EngineUnavailableError(EngineError):
    """The configured engine is unknown, or a package it needs is not installed."""


class LifespanStartupError(EngineError):
    """The application failed its lifespan startup, so the engine did not start serving."""


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Engine settings, the same for every engine (``server.*`` config keys).

    Attributes:
        graceful_timeout: seconds in-flight requests get to finish once a stop begins; what
            is still running then is cancelled and its connection closed.
        keep_alive_timeout: seconds an idle connection is kept open, between requests and
            before the first one.
        header_timeout: seconds a client gets, from the first byte of a request, to send
            all of its headers; slower clients are disconnected. On hypercorn, the idle
            timer runs until headers are complete, so ``keep_alive_timeout`` bounds this phase.
        max_header_size: bytes allowed for the request line plus headers; larger requests
            get ``431 Request Header Fields Too Large`` (HTTP/2: the header list size).
        backlog: the listen queue length; an engine re-applies it to the inherited socket.
        access_log: log one line per request (loggers ``hypercorn.access``/``uvicorn.access``).
        lifespan: run the ASGI lifespan protocol (startup before accepting, shutdown last).
        root_path: the ASGI ``root_path`` when mounted below a prefix by a proxy.
        ws_max_message_size: bytes one received WebSocket message may have; the engine
            closes a connection sending more with 1009 before buffering it (``None``: the
            engine's default, 16 MiB). A ``ws`` server sets it from ``ws.max_message_size``.
    """

    graceful_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    header_timeout: float = 10.0
    max_header_size: int = 16 * 1024
    backlog: int = 2048
    access_log: bool = False
    lifespan: bool = True
    root_path: str = ""
    ws_max_message_size: int | None = None

    def __post_init__(self) -> None:
        root = self.root_path
        if root and not root.startswith("/"):
            raise EngineError(
                f"server.root_path {root!r} is not a path\n"
                "  fix: write the prefix the proxy serves the app under, e.g. '/api'"
            )
        # '/api/' would make uvicorn's paths '/api//users': keep the prefix without the slash
        object.__setattr__(self, "root_path", root.rstrip("/"))


class Engine(Protocol):
    """A protocol server that runs one ASGI app on pre-bound sockets until told to stop."""

    @property
    def name(self) -> str:
        """The name used in config (``server.engine``)."""
        ...

    @property
    def protocols(self) -> frozenset[str]:
        """What it speaks: a subset of ``{"http/1.1", "h2c", "websocket"}``."""
        ...

    @property
    def use_uvloop(self) -> bool:
        """Whether :func:`run` should start a uvloop event loop for this engine."""
        ...

    async def serve(
        self,
        app: AnyASGIApp,
        sockets: Sequence[socket.socket],
        *,
        shutdown_trigger: ShutdownTrigger,
        options: EngineOptions = ...,
        ready: Callable[[], None] | None = None,
    ) -> None:
        """Serve ``app`` on ``sockets`` until ``shutdown_trigger()`` returns, then stop.

        Order: lifespan startup; accept on every socket; call ``ready()`` once; wait for the
        trigger; stop accepting (closing the sockets); let in-flight requests finish for up
        to ``options.graceful_timeout`` seconds, then cancel them; lifespan shutdown; return.

        The engine takes ownership of ``sockets``: they are closed when this returns, also
        on error. Cancelling the calling task forces the stop: no grace period, in-flight
        requests are cancelled and their connections closed, then the cancellation goes on.

        Raises:
            LifespanStartupError: the app reported a failed startup; nothing was served.
        """
        ...


async def answer_lifespan(receive: Any, send: Any) -> None:
    """Complete a lifespan scope without running any startup or shutdown: for an app (a
    gateway, an app served with ``lifespan=False``) that has nothing to start."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def entry_of(app: AnyASGIApp) -> AnyASGIApp:
    """What an engine calls per connection or request: the app's ``swoop_entry`` if it has
    one, else an app object's bound ``__call__``.

    ``swoop_entry(scope, receive, send)`` is a plain function that returns the awaitable to
    run (Swoop's :class:`~framework.http.asgi.HttpApp` returns the route's own coroutine: one
    coroutine less per request). Whoever calls the result must await what it returns, as
    every engine and wrapper does; ASGI servers outside Swoop call the app itself.

    Calling an instance goes through its type's ``__call__`` slot, which on CPython 3.11
    costs about 600 machine instructions more than calling the bound method (measured with
    ``bench/instructions.py``); every ASGI framework's app is such an instance. Functions
    and methods are returned as they are.
    """
    entry = getattr(app, "swoop_entry", None)
    if inspect.ismethod(entry) or inspect.isfunction(entry):
        return cast(AnyASGIApp, entry)
    if inspect.isfunction(app) or inspect.ismethod(app) or not callable(app):
        return app
    call = getattr(app, "__call__", None)  # noqa: B004 (the bound method is what we want)
    return call if inspect.ismethod(call) else app


def engine_named(name: str, *, ws_protocol: str = "swoop") -> Engine:
    """The engine for a ``server.engine`` config value.

    Args:
        name: ``"hypercorn"`` or ``"uvicorn"``.
        ws_protocol: ``server.ws_protocol``, the WebSocket protocol of the uvicorn engine
            (``"swoop"`` or ``"wsproto"``, see :mod:`framework.server.uvicorn_engine`);
            hypercorn has one.

    Raises:
        EngineUnavailableError: the name is unknown, the engine's packages are missing, or
            ``ws_protocol`` is unknown.
    """
    if name == "hypercorn":
        from framework.server.hypercorn_engine import HypercornEngine

        return HypercornEngine()
    if name == "uvicorn":
        missing = [pkg for pkg in ("uvicorn", "httptools") if importlib.util.find_spec(pkg) is None]
        if missing:
            raise EngineUnavailableError(
                f"server.engine = 'uvicorn' needs {' and '.join(missing)}, which is not "
                "installed.\n  fix: pip install 'swoop-framework[fast]', or set "
                "server.engine = 'hypercorn'"
            )
        from framework.server.uvicorn_engine import UvicornEngine

        return UvicornEngine(
            use_uvloop=importlib.util.find_spec("uvloop") is not None, ws_protocol=ws_protocol
        )
    choices = ", ".join(repr(n) for n in ENGINE_NAMES)
    raise EngineUnavailableError(f"Unknown server.engine {name!r}.\n  fix: choose one of {choices}")


def run(
    engine: Engine,
    app: AnyASGIApp,
    sockets: Sequence[socket.socket],
    *,
    shutdown_trigger: ShutdownTrigger,
    options: EngineOptions | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Start an event loop and :meth:`Engine.serve` in it, blocking until it returns.

    This is the entry point of a worker process. The loop is uvloop when the engine asks for
    it; it has to be chosen here, before any loop exists. ``shutdown_trigger`` is called in
    the new loop, e.g. an async function waiting on ``anyio.open_signal_receiver``.
    """
    serve = partial(
        engine.serve,
        app,
        sockets,
        shutdown_trigger=shutdown_trigger,
        options=options or EngineOptions(),
        ready=ready,
    )
    anyio.run(serve, backend="asyncio", backend_options={"use_uvloop": engine.use_uvloop})


async def serve_shielded(
    serve: Callable[[], Awaitable[None]],
    *,
    stop: anyio.Event,
    shutdown_trigger: ShutdownTrigger,
    force: Callable[[], None],
) -> None:
    """Run an engine to its end; ``stop`` is set when it should begin its graceful stop.

    That is when ``shutdown_trigger()`` returns, or when the calling task is cancelled: then
    ``force()`` first drops the grace period, and the cancellation is re-raised once the engine
    has returned. Engines are asyncio code whose stop, interrupted half-way, would leave
    connections and tasks behind, hence the shield.
    """
    finished = False

    async def watch_trigger() -> None:
        await shutdown_trigger()
        stop.set()

    async def watch_cancel() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            if not finished:
                force()
                stop.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch_trigger)
            tg.start_soon(watch_cancel)
            try:
                with anyio.CancelScope(shield=True):
                    await serve()
            finally:
                finished = True
                tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise_unwrapped(group)


def close_all(sockets: Sequence[socket.socket]) -> None:
    """Close every socket; closing one already closed does nothing."""
    for sock in sockets:
        sock.close()


def raise_unwrapped(group: BaseExceptionGroup[BaseException]) -> NoReturn:
    """Raise the one exception inside nested single-member groups, else the group itself.

    Task groups wrap even a single error; callers of an engine want that error, with its
    own cause and context rather than the group's.
    """
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    context, suppress = error.__context__, error.__suppress_context__
    try:
        raise error
    finally:
        error.__context__, error.__suppress_context__ = context, suppress
