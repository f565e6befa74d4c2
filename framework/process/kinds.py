"""The server kinds ``appctl`` manages: http, ws, tcp and rpc (and ``full`` apps of several).

A kind says which framework package serves it, which extensions a worker boots with and
its default port (Swoft's: http 18306, rpc 18307, ws 18308, tcp 18309). A kind is
*available* once the process manager can serve it; ``appctl`` refuses the others with
:class:`ServerUnavailableError` instead of failing later in a worker.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from framework.errors import describe
from framework.process.errors import ProcessError

__all__ = ["APP_TYPES", "KINDS", "ServerKind", "ServerUnavailableError", "kind_named"]


class ServerUnavailableError(ProcessError):
    """The server kind exists in Swoop's plan but not yet in this version."""


@dataclass(frozen=True, slots=True)
class ServerKind:
    """One server kind.

    Attributes:
        name: ``http``, ``ws``, ``tcp`` or ``rpc``; the prefix of its commands.
        title: for messages and the status header.
        default_port: used when neither the CLI nor the config sets a port.
        package: the framework package that implements it.
        extensions: ``"module:Class"`` specs a worker boots with, besides those in
            ``app.extensions`` and the defaults.
        asgi: served by an ASGI engine (hypercorn/uvicorn) rather than a stream server.
    """

    name: str
    title: str
    default_port: int
    package: str
    extensions: tuple[str, ...]
    asgi: bool

    @property
    def available(self) -> bool:
        """Whether this Swoop can serve the kind: its package exists and workers know it."""
        if not self.asgi:
            return False  # stream servers (tcp, rpc): the worker has no serving path yet
        return all(_importable(spec) for spec in self.extensions)

    def require(self) -> ServerKind:
        """This kind, if available.

        Raises:
            ServerUnavailableError: it is not available in this version.
        """
        if not self.available:
            ready = ", ".join(k.name for k in KINDS.values() if k.available) or "none"
            raise ServerUnavailableError(
                describe(
                    [
                        f"the {self.title} server ({self.name}) is not available in this "
                        "version of Swoop yet",
                        f"available: {ready}",
                        f"fix: use an available server, or upgrade Swoop once {self.package} ships",
                    ]
                )
            )
        return self


def _importable(spec: str) -> bool:
    """Whether ``"module:Class"`` can be imported (a package still being written may lack it)."""
    module, _, name = spec.partition(":")
    try:
        return importlib.util.find_spec(module) is not None and hasattr(
            importlib.import_module(module), name
        )
    except ImportError:
        return False


_HTTP = "framework.http:HttpExtension"

KINDS: dict[str, ServerKind] = {
    "http": ServerKind("http", "HTTP", 18306, "framework.http", (_HTTP,), asgi=True),
    "ws": ServerKind(
        "ws",
        "WebSocket",
        18308,
        "framework.websocket",
        (_HTTP, "framework.websocket:WebSocketExtension"),
        asgi=True,
    ),
    "tcp": ServerKind("tcp", "TCP", 18309, "framework.tcp", (), asgi=False),
    "rpc": ServerKind("rpc", "JSON-RPC", 18307, "framework.rpc", (), asgi=False),
}

#: ``create:app --type`` values and the server kinds each one runs.
APP_TYPES: dict[str, tuple[str, ...]] = {
    "http": ("http",),
    "ws": ("ws",),
    "tcp": ("tcp",),
    "rpc": ("rpc",),
    "full": ("http", "ws", "rpc"),
}


def kind_named(name: str) -> ServerKind:
    """The kind called ``name``.

    Raises:
        ProcessError: no such kind.
    """
    try:
        return KINDS[name]
    except KeyError:
        raise ProcessError(
            f"unknown server kind {name!r}\n  fix: use one of {', '.join(KINDS)}"
        ) from None
