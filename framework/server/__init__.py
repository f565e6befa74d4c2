"""Protocol engines used as libraries on sockets the master bound (DESIGN.md §3).

``engine_named(config.server.engine)`` picks Hypercorn (default: HTTP/1.1, h2c, WebSocket) or
Uvicorn (httptools on uvloop, extra ``fast``); both follow :class:`Engine`. A worker calls
:func:`run` with the sockets it inherited; tests use ``Engine.serve`` inside their own loop.
"""

from framework.server.engine import (
    Engine,
    EngineError,
    EngineOptions,
    EngineUnavailableError,
    LifespanStartupError,
    ShutdownTrigger,
    engine_named,
    run,
)
from framework.server.sockets import BindError, adopt_socket, bind_tcp, endpoint, make_inheritable
from framework.server.typing import AnyASGIApp, ASGIApp

__all__ = [
    "ASGIApp",
    "AnyASGIApp",
    "BindError",
    "Engine",
    "EngineError",
    "EngineOptions",
    "EngineUnavailableError",
    "LifespanStartupError",
    "ShutdownTrigger",
    "adopt_socket",
    "bind_tcp",
    "endpoint",
    "engine_named",
    "make_inheritable",
    "run",
]
