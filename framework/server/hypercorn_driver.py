"""Hypercorn's protocols served by Swoop: our own ``worker_serve``, lean per connection.

Hypercorn's ``worker_serve`` runs each connection as a task over asyncio streams, with its
own task group, locks, events and an ``asyncio.Queue`` per application: about 21 KiB for an
idle WebSocket. :class:`HypercornDriver` keeps Hypercorn's sans-IO protocols (h11, h2 and
h2c, WebSocket, in ``hypercorn.protocol``) and its lifespan, and replaces what is around
them (measured in docs/websocket.md, "Engines and memory"):

- a connection is a :class:`~framework.server.hypercorn_connection.HypercornConnection`
  (an ``asyncio.Protocol``, no task while idle);
- the driver itself is the task group the protocols spawn applications in (one for the
  worker, not one per connection); an application's messages wait in an :class:`_AppQueue`,
  and the protocols' events are :class:`_Event`, both allocating only while someone waits.

What it keeps from ``worker_serve``, in order: lifespan startup (a failure or timeout raises
Hypercorn's ``LifespanFailureError``/``LifespanTimeoutError``, nothing is served); accept on
every socket; ``shutdown_trigger()``; then the stop: refuse new connections (the listening
sockets close), close the connections idle between requests, give the others
``graceful_timeout`` seconds (:meth:`HypercornDriver.force` ends that wait), cancel what is
left and close its connections; lifespan shutdown last. Cleartext only (no TLS, no QUIC),
and no ``max_requests``: Swoop's engine uses neither.

Hypercorn's internals used here are checked when this module is imported: a Hypercorn whose
signatures differ raises :class:`~framework.server.engine.EngineUnavailableError` at once,
rather than failing on the first connection.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from importlib.metadata import version
from typing import Any, cast

from hypercorn.asyncio.lifespan import Lifespan
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config
from hypercorn.events import Event
from hypercorn.protocol import ProtocolWrapper
from hypercorn.typing import (
    AppWrapper,
    ASGIFramework,
    ASGIReceiveEvent,
    ASGISendEvent,
    ConnectionState,
    TaskGroup,
)
from hypercorn.typing import Event as HypercornEvent
from hypercorn.utils import repr_socket_addr, wrap_app

from framework.server.engine import EngineUnavailableError, ShutdownTrigger, answer_lifespan
from framework.server.hypercorn_connection import HypercornConnection, log
from framework.server.typing import ASGIApp, ASGIReceive, ASGISend, Scope

__all__ = ["HypercornDriver"]

#: Seconds cancelled applications get to answer (a 500), then connections to close cleanly,
#: once the grace period is over; what is still open after that is dropped.
CANCEL_WAIT = 1.0

Send = Callable[[Event], Awaitable[None]]


class HypercornDriver:
    """Serve an ASGI app with Hypercorn's protocols on pre-bound, listening sockets.

    Args:
        app: the ASGI application.
        config: Hypercorn's settings: ``graceful_timeout``, ``keep_alive_timeout``,
            ``read_timeout``, ``backlog`` for the driver, the others (``h11_max_incomplete_size``,
            ``websocket_max_message_size``, ...) for Hypercorn's protocols.
        lifespan: run the app's lifespan (startup before accepting, shutdown last);
            ``False`` answers the lifespan events in its place, and the app sees none.
    """

    def __init__(self, app: ASGIApp, config: Config, *, lifespan: bool = True) -> None:
        self._app = app
        self._lifespan = lifespan
        self._config = config
        self._context = _Context(None)
        self._lifespan_state: dict[str, Any] = {}
        self._connections: set[HypercornConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._settled: asyncio.Future[None] | None = None  # see _wait_until
        self._until: Callable[[], bool] = self._idle
        self._forced = False
        #: The stop began: a connection becoming idle is closed at once.
        self.stopping = False
        self.keep_alive_timeout = float(config.keep_alive_timeout)
        self.read_timeout: float | None = config.read_timeout

    async def serve(
        self, sockets: Sequence[socket.socket], *, shutdown_trigger: ShutdownTrigger
    ) -> None:
        """Lifespan startup, serve until ``shutdown_trigger()`` returns, stop, lifespan
        shutdown (see the module docs).

        Raises:
            LifespanFailureError: the app reported a failed startup or shutdown (Hypercorn's).
            LifespanTimeoutError: the app did not answer its startup or shutdown in time.
        """
        loop = asyncio.get_running_loop()
        config = self._config
        served = self._app if self._lifespan else _answer_lifespan
        lifespan_app = wrap_app(cast(ASGIFramework, served), config.wsgi_max_body_size, "asgi")
        lifespan = Lifespan(lifespan_app, config, loop, self._lifespan_state)
        lifespan_task = loop.create_task(lifespan.handle_lifespan())
        try:
            await lifespan.wait_for_startup()
        except BaseException:
            await _cancel_and_wait(lifespan_task)
            raise
        if lifespan_task.done():
            _raise_failure(lifespan_task)
        servers: list[asyncio.Server] = []
        try:
            for sock in sockets:
                servers.append(
                    await loop.create_server(self._connect, sock=sock, backlog=config.backlog)
                )
                bind = repr_socket_addr(sock.family, sock.getsockname())
                await config.log.info(f"Running on http://{bind} (CTRL + C to quit)")
            await shutdown_trigger()
        finally:
            await self._stop(servers)
            try:
                await lifespan.wait_for_shutdown()
            finally:
                await _cancel_and_wait(lifespan_task)
            _raise_failure(lifespan_task)

    def force(self) -> None:
        """Drop the grace period: in-flight requests are cancelled as soon as the stop
        begins, or at once if it is already waiting for them."""
        self._forced = True
        if self._settled is not None and not self._settled.done():
            self._settled.set_result(None)

    # -- what a connection asks -------------------------------------------------------------

    def protocol_for(
        self, send: Send, client: tuple[str, int] | None, server: tuple[str, int] | None
    ) -> ProtocolWrapper:
        """Hypercorn's protocol for a new cleartext connection writing with ``send``."""
        return ProtocolWrapper(
            cast(AppWrapper, self._app),  # called by spawn_app below, as an ASGI app
            self._config,
            self._context,
            cast(TaskGroup, self),
            ConnectionState(self._lifespan_state),
            False,
            client,
            server,
            send,
            "http/1.1",
        )

    def connected(self, connection: HypercornConnection) -> None:
        self._connections.add(connection)

    def disconnected(self, connection: HypercornConnection) -> None:
        self._connections.discard(connection)
        self._check_until()

    def track(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in a task the stop waits for, then cancels."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    # -- Hypercorn's TaskGroup protocol, one for the worker -----------------------------------

    async def spawn_app(
        self,
        app: AppWrapper,
        config: Config,
        scope: Any,
        send: Callable[[ASGISendEvent | None], Awaitable[None]],
    ) -> Callable[[ASGIReceiveEvent], Awaitable[None]]:
        """Start the app for a stream's ``scope``; returns how the stream hands it messages."""
        queue = _AppQueue(config.max_app_queue_size)
        self.track(self._run_app(cast(ASGIApp, app), scope, queue, send))
        return queue.put

    def spawn(self, func: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
        """Run a protocol's helper (h2's sender, WebSocket pings) in a tracked task."""
        self.track(func(*args))

    async def _run_app(
        self,
        app: ASGIApp,
        scope: Any,
        queue: _AppQueue,
        send: Callable[[ASGISendEvent | None], Awaitable[None]],
    ) -> None:
        # Hypercorn's _handle: ``send`` is the stream's own method (the fast path finds the
        # stream through it), and ``send(None)`` tells the stream the app is done.
        try:
            await app(scope, cast(ASGIReceive, queue.get), cast(ASGISend, send))
        except asyncio.CancelledError:
            raise
        except Exception:
            await self._config.log.exception("Error in ASGI Framework")
        finally:
            queue.close()
            await send(None)

    # -- the stop -----------------------------------------------------------------------------

    def _connect(self) -> HypercornConnection:
        return HypercornConnection(self)

    async def _stop(self, servers: list[asyncio.Server]) -> None:
        self.stopping = True
        await self._context.terminated.set()  # h11 and h2 stop keeping connections alive
        for server in servers:
            server.close()  # not wait_closed(): on 3.12+ it waits for every connection
        for connection in list(self._connections):
            connection.close_if_idle()
        if not self._forced:
            await self._wait_until(self._idle, self._config.graceful_timeout)
        if not self._idle():
            await self._cancel_rest()

    async def _cancel_rest(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:  # a cancelled app still answers, e.g. a 500 for a request
            await asyncio.wait(tasks, timeout=CANCEL_WAIT)
        for connection in list(self._connections):
            connection.close()
        await self._wait_until(lambda: not self._connections, CANCEL_WAIT)
        for connection in list(self._connections):
            connection.abort()
        while self._tasks:  # what the closed connections still had running
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
        await asyncio.sleep(0)  # aborted transports report connection_lost

    async def _wait_until(self, done: Callable[[], bool], seconds: float) -> None:
        """Wait for ``done()`` (checked when a connection or task ends), at most ``seconds``,
        or until :meth:`force`."""
        if done():
            return
        self._until, self._settled = done, asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait((self._settled,), timeout=seconds)
        finally:
            self._settled = None

    def _check_until(self) -> None:
        settled = self._settled
        if settled is not None and not settled.done() and self._until():
            settled.set_result(None)

    def _idle(self) -> bool:
        return not (self._connections or self._tasks)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("Error in a task of Hypercorn's protocol", exc_info=exc)
        self._check_until()


class _AppQueue:
    """What a stream hands its app: ``asyncio.Queue``'s behaviour (FIFO, ``put`` waits while
    ``maxsize`` messages wait, cancellation-safe) without its three deques and event (3 KiB
    per app): lists exist only while messages or waiters do. Once the app returned, the
    queue is closed: messages are dropped, and a stream waiting to put one goes on (with
    ``asyncio.Queue`` it would wait for the stop)."""

    __slots__ = ("_closed", "_getters", "_items", "_maxsize", "_putters")

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._closed = False
        self._items: list[ASGIReceiveEvent] | None = None
        self._getters: list[asyncio.Future[None]] | None = None
        self._putters: list[asyncio.Future[None]] | None = None

    async def get(self) -> ASGIReceiveEvent:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._getters = _wait_in(self._getters, getter)
            try:
                await getter
            except BaseException:
                _forget(self._getters, getter)
                if self._items and not getter.cancelled():
                    _wake_next(self._getters)  # it was woken: pass it on
                raise
        items = self._items
        item = items.pop(0)
        if not items:
            self._items = None
        _wake_next(self._putters)
        return item

    async def put(self, item: ASGIReceiveEvent) -> None:
        while not self._closed and 0 < self._maxsize <= len(self._items or ()):
            putter = asyncio.get_running_loop().create_future()
            self._putters = _wait_in(self._putters, putter)
            try:
                await putter
            except BaseException:
                _forget(self._putters, putter)
                if len(self._items or ()) < self._maxsize and not putter.cancelled():
                    _wake_next(self._putters)
                raise
        if self._closed:
            return
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        _wake_next(self._getters)

    def close(self) -> None:
        """The app returned: drop what waits for it and what comes, release the putters."""
        self._closed = True
        self._items = None
        putters, self._putters = self._putters, None
        for putter in putters or ():
            if not putter.done():
                putter.set_result(None)


class _Event:
    """Hypercorn's ``event_class`` (async ``clear``/``set``/``wait``, ``is_set``), as
    ``asyncio.Event`` but without its deque (760 bytes in every h11 connection)."""

    __slots__ = ("_flag", "_waiters")

    def __init__(self) -> None:
        self._flag = False
        self._waiters: list[asyncio.Future[None]] | None = None

    async def clear(self) -> None:
        self._flag = False

    async def set(self) -> None:
        if self._flag:
            return
        self._flag = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        if self._flag:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters = _wait_in(self._waiters, waiter)
        try:
            await waiter
        finally:
            _forget(self._waiters, waiter)

    def is_set(self) -> bool:
        return self._flag


class _Context(WorkerContext):
    event_class: type[HypercornEvent] = _Event


def _wait_in(
    waiters: list[asyncio.Future[None]] | None, waiter: asyncio.Future[None]
) -> list[asyncio.Future[None]]:
    if waiters is None:
        return [waiter]
    waiters.append(waiter)
    return waiters


def _forget(waiters: list[asyncio.Future[None]] | None, waiter: asyncio.Future[None]) -> None:
    waiter.cancel()
    if waiters is not None and waiter in waiters:
        waiters.remove(waiter)


def _wake_next(waiters: list[asyncio.Future[None]] | None) -> None:
    while waiters:
        waiter = waiters.pop(0)
        if not waiter.done():
            waiter.set_result(None)
            return


async def _answer_lifespan(scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
    await answer_lifespan(receive, send)


async def _cancel_and_wait(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait((task,))


def _raise_failure(task: asyncio.Task[None]) -> None:
    failure = None if task.cancelled() else task.exception()
    if failure is not None:
        raise failure


def _check_internals() -> None:
    """Fail at import, naming what changed, if Hypercorn's internals are not as used here."""
    expected: dict[Callable[..., Any], tuple[str, ...]] = {
        ProtocolWrapper.__init__: (
            "self",
            "app",
            "config",
            "context",
            "task_group",
            "state",
            "ssl",
            "client",
            "server",
            "send",
            "alpn_protocol",
        ),
        Lifespan.__init__: ("self", "app", "config", "loop", "lifespan_state"),
        WorkerContext.__init__: ("self", "max_requests"),
        TaskGroup.spawn_app: ("self", "app", "config", "scope", "send"),
        TaskGroup.spawn: ("self", "func", "args"),
    }
    changed = [
        f"{function.__qualname__}{inspect.signature(function)}"
        for function, names in expected.items()
        if tuple(inspect.signature(function).parameters) != names
    ]
    needed = {
        Lifespan: ("handle_lifespan", "wait_for_startup", "wait_for_shutdown"),
        WorkerContext: ("event_class", "mark_request"),
        ProtocolWrapper: ("initiate", "handle"),
        HypercornEvent: ("clear", "set", "wait", "is_set"),
    }
    changed += [
        f"{kind.__qualname__}.{name} is missing"
        for kind, names in needed.items()
        for name in names
        if not hasattr(kind, name)
    ]
    if changed:
        raise EngineUnavailableError(
            f"hypercorn {version('hypercorn')} changed internals that Swoop's hypercorn "
            f"engine drives: {'; '.join(changed)}\n"
            "  fix: pip install 'hypercorn>=0.17,<0.19' (Swoop is tested with 0.18), or set "
            "server.engine = 'uvicorn'"
        )


_check_internals()
