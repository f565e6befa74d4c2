"""The settings of one server, from config (``server.*``) with command-line flags on top.

Each key is read as ``server.<kind>.<key>`` first, then ``server.<key>``, so one config file
can hold the settings of several server kinds (``server.ws.port = 18308``). ``server.port``
applies to the http server only; the other kinds default to their own ports.

A ``ws`` server also reads ``ws.split`` and ``ws.gateways`` here (the gateway/business
split, docs/scale-out.md): they decide which processes the master starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from framework.config import Config
from framework.errors import describe
from framework.process.errors import ProcessError
from framework.process.kinds import ServerKind
from framework.process.runtime import DEFAULT_LOG_DIR, DEFAULT_PID_FILE, RuntimePaths

__all__ = ["DEFAULT_HOST", "ServerSettings", "server_option"]

T = TypeVar("T")
D = TypeVar("D")

DEFAULT_HOST = "0.0.0.0"
_ABSENT = object()
_MAX_UNIX_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


def server_option(config: Config, kind: str, key: str, default: D, type: type[T]) -> T | D:
    """``server.<kind>.<key>``, else ``server.<key>``, else ``default``, converted to ``type``."""
    value = config.get(f"server.{kind}.{key}", _ABSENT, type=type)
    if value is not _ABSENT:
        return value  # type: ignore[return-value]
    if key == "port" and kind != "http":
        return default
    return config.get(f"server.{key}", default, type=type)


def _cpu_count() -> int:
    """CPUs this process may run on (a container's cpuset, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything the master needs; the workers read the rest of the config themselves.

    Attributes:
        overrides: the command-line flags that were given (``host``, ``port``, ``workers``,
            ``watch``), kept so that ``restart`` starts with the same ones.
        split: a ``ws`` server with ``ws.split``: ``gateways`` gateway processes hold the
            WebSockets, the ``workers`` are business workers.
        reuse_port: one listening socket per worker (per gateway when split), all bound to
            the port with ``SO_REUSEPORT``, so the kernel spreads new connections evenly.
    """

    kind: ServerKind
    paths: RuntimePaths
    host: str
    port: int
    workers: int
    graceful_timeout: float
    boot_timeout: float
    daemonize: bool
    watch: bool
    access_log: bool
    backlog: int
    engine: str = "hypercorn"
    standby: bool = True
    overrides: Mapping[str, Any] = field(default_factory=dict)
    split: bool = False
    gateways: int = 1
    reuse_port: bool = False

    @property
    def listeners(self) -> int:
        """How many listening sockets the master binds: one per process that accepts with
        ``reuse_port``, else one shared by all."""
        if not self.reuse_port:
            return 1
        return self.gateways if self.split else self.workers

    @property
    def app_dir(self) -> Path:
        return self.paths.app_dir

    def gateway_socket(self, index: int) -> str:
        """Where business workers reach gateway ``index``: ``runtime/<server>-gw-<n>.sock``
        next to the pid file; relative to the app directory (every process of the server
        runs there) when the absolute path is too long for a Unix socket address."""
        path = self.paths.pid_file.with_name(f"{self.kind.name}-gw-{index}.sock")
        text = str(path)
        return text if len(text.encode()) <= _MAX_UNIX_PATH else self.paths.display(path)

    @classmethod
    def resolve(
        cls,
        kind: ServerKind,
        app_dir: Path,
        config: Config,
        overrides: Mapping[str, Any] | None = None,
    ) -> ServerSettings:
        """Settings for ``kind`` from ``config``, with non-``None`` ``overrides`` winning.

        Raises:
            ProcessError: a value is out of range (workers < 1, port outside 0-65535).
            ConfigError: a config value has the wrong type.
        """
        given = {k: v for k, v in (overrides or {}).items() if v is not None}

        def option(key: str, default: Any, type: type[Any]) -> Any:
            if key in given:
                return given[key]
            return server_option(config, kind.name, key, default, type)

        paths = RuntimePaths.of(
            app_dir,
            kind.name,
            pid_file=option("pid_file", DEFAULT_PID_FILE, str),
            log_dir=option("log_dir", DEFAULT_LOG_DIR, str),
        )
        settings = cls(
            kind=kind,
            paths=paths,
            host=option("host", DEFAULT_HOST, str),
            port=option("port", kind.default_port, int),
            workers=option("workers", _cpu_count(), int),
            graceful_timeout=option("graceful_timeout", 10.0, float),
            boot_timeout=option("boot_timeout", 30.0, float),
            daemonize=option("daemonize", False, bool),
            watch=option("watch", False, bool),
            access_log=option("access_log", True, bool),
            backlog=option("backlog", 2048, int),
            engine=option("engine", "hypercorn", str),
            standby=option("standby", True, bool),
            overrides=given,
            split=kind.name == "ws" and config.get("ws.split", False, type=bool),
            gateways=config.get("ws.gateways", 1, type=int) if kind.name == "ws" else 1,
            reuse_port=option("reuse_port", False, bool),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.split and self.gateways < 1:
            raise ProcessError(
                describe(
                    [
                        f"ws server: ws.gateways must be at least 1, not {self.gateways}",
                        "fix: set ws.gateways = 1 (or more) in config/ws.py",
                    ]
                )
            )
        if self.workers < 1:
            raise ProcessError(
                describe(
                    [
                        f"{self.kind.name} server: workers must be at least 1, not {self.workers}",
                        "fix: pass --workers N with N >= 1, or fix server.workers",
                    ]
                )
            )
        if not 0 <= self.port <= 65535:
            raise ProcessError(
                describe(
                    [
                        f"{self.kind.name} server: port {self.port} is not between 0 and 65535",
                        "fix: pass --port, or fix server.port",
                    ]
                )
            )
