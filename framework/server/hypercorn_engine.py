"""Hypercorn as a library: HTTP/1.1, h2c and WebSocket on pre-bound sockets.

``hypercorn.asyncio.serve`` binds its own sockets, so this drives the function it delegates to,
``worker_serve``, which accepts ready-made ones (Hypercorn's own workers use it that way).
Hypercorn calls the shutdown trigger once every socket is accepting: that is when ``ready``
fires. When the stop begins, Hypercorn closes the listening sockets, closes idle
connections, waits ``graceful_timeout`` for the others, cancels what is left, then runs the
lifespan shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import cast

import anyio
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.typing import ASGIFramework
from hypercorn.utils import LifespanFailureError, LifespanTimeoutError, wrap_app

from framework.server.engine import (
    EngineOptions,
    LifespanStartupError,
    ShutdownTrigger,
    answer_lifespan,
    close_all,
    serve_shielded,
)
from framework.server.typing import AnyASGIApp, ASGIApp, ASGIReceive, ASGISend, Scope

__all__ = ["HypercornEngine"]

_DEFAULT_OPTIONS = EngineOptions()


class HypercornEngine:
    """The default engine; see :class:`framework.server.engine.Engine` for the contract."""

    name = "hypercorn"
    protocols = frozenset({"http/1.1", "h2c", "websocket"})
    use_uvloop = False

    async def serve(
        self,
        app: AnyASGIApp,
        sockets: Sequence[socket.socket],
        *,
        shutdown_trigger: ShutdownTrigger,
        options: EngineOptions = _DEFAULT_OPTIONS,
        ready: Callable[[], None] | None = None,
    ) -> None:
        """Serve ``app`` on ``sockets`` until ``shutdown_trigger()`` returns (see ``Engine``)."""
        config = hypercorn_config(options)
        served = app if options.lifespan else _without_lifespan(app)
        wrapped = wrap_app(cast(ASGIFramework, served), config.wsgi_max_body_size, "asgi")
        stop, serving = anyio.Event(), anyio.Event()

        async def trigger() -> None:  # Hypercorn calls it once every socket is accepting
            serving.set()
            if ready is not None:
                ready()
            await stop.wait()

        def force() -> None:
            config.graceful_timeout = 0.0

        listeners = Sockets(secure_sockets=[], insecure_sockets=list(sockets), quic_sockets=[])
        serve = partial(worker_serve, wrapped, config, sockets=listeners, shutdown_trigger=trigger)
        try:
            await serve_shielded(
                partial(_balancing_cancel_requests, serve),
                stop=stop,
                shutdown_trigger=shutdown_trigger,
                force=force,
            )
        except (LifespanFailureError, LifespanTimeoutError) as exc:
            if serving.is_set():  # a failed shutdown is logged, as Uvicorn does
                logging.getLogger("hypercorn.error").error("Lifespan shutdown failed: %s", exc)
                return
            raise LifespanStartupError(
                f"The application's lifespan startup failed on hypercorn: {exc}\n"
                "  fix: see the error logged above by the startup hook"
            ) from exc
        finally:
            close_all(sockets)


async def _balancing_cancel_requests(serve: Callable[[], Awaitable[None]]) -> None:
    # On Python 3.11, an asyncio.TaskGroup whose child fails while the group is exiting calls
    # cancel() on the parent task and never uncancel() (fixed in 3.12). Hypercorn's stop does
    # exactly that; the stale request would make anyio treat its own cancel scopes as foreign.
    task = asyncio.current_task()
    assert task is not None
    requests = task.cancelling()
    await serve()
    while task.cancelling() > requests:
        task.uncancel()


def hypercorn_config(options: EngineOptions) -> Config:
    """A Hypercorn ``Config`` carrying ``options``; nothing in it binds or forks."""
    config = Config()
    config.graceful_timeout = options.graceful_timeout
    config.keep_alive_timeout = options.keep_alive_timeout
    config.h11_max_incomplete_size = options.max_header_size
    config.h2_max_header_list_size = options.max_header_size
    config.backlog = options.backlog
    config.root_path = options.root_path
    if options.ws_max_message_size is not None:
        config.websocket_max_message_size = options.ws_max_message_size
    config.include_server_header = False
    # Logger objects rather than "-": Hypercorn then leaves the logging setup alone.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.accesslog = logging.getLogger("hypercorn.access") if options.access_log else None
    return config


def _without_lifespan(app: AnyASGIApp) -> ASGIApp:
    # Hypercorn always sends lifespan events; answering them here keeps them from the app.
    async def wrapper(scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        await answer_lifespan(receive, send)

    return wrapper
