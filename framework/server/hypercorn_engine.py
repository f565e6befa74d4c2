"""Hypercorn as a library: HTTP/1.1, h2c and WebSocket on pre-bound sockets.

Hypercorn's protocols (h11, h2, WebSocket) and lifespan run under Swoop's own connection
driver, :class:`~framework.server.hypercorn_driver.HypercornDriver`, in place of Hypercorn's
``worker_serve``: one ``asyncio.Protocol`` per connection instead of a task over asyncio
streams, which keeps an idle WebSocket several KiB smaller. ``ready`` fires once every
socket is accepting. When the stop begins, the driver closes the listening sockets, closes
idle connections, waits ``graceful_timeout`` for the others, cancels what is left, then runs
the lifespan shutdown.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from functools import partial

import anyio
from hypercorn.config import Config
from hypercorn.utils import LifespanFailureError, LifespanTimeoutError

from framework.server.engine import (
    EngineOptions,
    LifespanStartupError,
    ShutdownTrigger,
    close_all,
    entry_of,
    serve_shielded,
)
from framework.server.hypercorn_driver import HypercornDriver
from framework.server.typing import AnyASGIApp

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
        driver = HypercornDriver(entry_of(app), config, lifespan=options.lifespan)
        stop, serving = anyio.Event(), anyio.Event()

        async def trigger() -> None:  # the driver calls it once every socket is accepting
            serving.set()
            if ready is not None:
                ready()
            await stop.wait()

        try:
            await serve_shielded(
                partial(driver.serve, sockets, shutdown_trigger=trigger),
                stop=stop,
                shutdown_trigger=shutdown_trigger,
                force=driver.force,
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
