"""Booting the app of an app directory for one server kind (workers and ``app:*`` commands).

Only workers and the ``app:*`` commands import the app; the master never does, so a broken
app cannot break the master.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.errors import FrameworkError, describe
from framework.process.kinds import ServerKind
from framework.process.settings import server_option

if TYPE_CHECKING:
    from framework.application import Application
    from framework.config import Config
    from framework.server import Engine, EngineOptions

__all__ = [
    "boot_app",
    "describe_failure",
    "engine_for",
    "engine_options",
    "missing_extensions",
]


def missing_extensions(kind: ServerKind, configured: Iterable[Any]) -> list[str]:
    """The extensions ``kind`` needs that neither the defaults nor ``app.extensions`` list."""
    from framework.application import DEFAULT_EXTENSIONS

    present = set(DEFAULT_EXTENSIONS)
    for item in configured:
        if isinstance(item, str):
            present.add(item)
        else:
            cls = item if isinstance(item, type) else type(item)
            present.add(f"{cls.__module__}:{cls.__qualname__}")
    public = {spec: _public_spec(spec) for spec in kind.extensions}
    return [s for s in kind.extensions if s not in present and public[s] not in present]


def _public_spec(spec: str) -> str:
    # "framework.http:HttpExtension" is framework.http.extension:HttpExtension once imported.
    module, _, name = spec.partition(":")
    try:
        cls = getattr(sys.modules[module], name) if module in sys.modules else None
    except AttributeError:
        cls = None
    return f"{cls.__module__}:{cls.__qualname__}" if cls is not None else spec


def boot_app(app_dir: Path, kind: ServerKind, *, cache_bytecode: bool = True) -> Application:
    """Boot the app in ``app_dir`` with the extensions ``kind`` needs.

    With ``cache_bytecode=False`` no ``.pyc`` is written for the app's modules: a file
    edited twice within one second at the same size could otherwise be loaded stale by the
    next reload (pyc files are validated by whole-second mtime and size).

    Raises:
        FrameworkError: the config, the scan or the build failed (see Application.boot).
    """
    from framework.application import Application
    from framework.config import load_config

    config = load_config(app_dir)
    extra = missing_extensions(kind, config.get("app.extensions", [], type=list[Any]))
    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = saved or not cache_bytecode
    try:
        return Application.boot(app_dir=app_dir, config=config, extensions=extra)
    finally:
        sys.dont_write_bytecode = saved


def engine_for(config: Config, kind: str) -> Engine:
    """The engine ``server.engine`` names for a server kind, with ``server.ws_protocol``."""
    from framework.server import engine_named

    return engine_named(
        server_option(config, kind, "engine", "hypercorn", str),
        ws_protocol=server_option(config, kind, "ws_protocol", "swoop", str),
    )


def engine_options(config: Config, kind: str, *, access_log: bool) -> EngineOptions:
    """Engine settings from ``server.*`` (read by each worker, so a reload applies them)."""
    from framework.server import EngineOptions
    from framework.websocket.settings import WsSettings

    def option(key: str, default: Any, type: type[Any]) -> Any:
        return server_option(config, kind, key, default, type)

    defaults = EngineOptions()
    return EngineOptions(
        graceful_timeout=option("graceful_timeout", defaults.graceful_timeout, float),
        keep_alive_timeout=option("keep_alive_timeout", defaults.keep_alive_timeout, float),
        header_timeout=option("header_timeout", defaults.header_timeout, float),
        max_header_size=option("max_header_size", defaults.max_header_size, int),
        backlog=option("backlog", defaults.backlog, int),
        access_log=access_log,
        root_path=option("root_path", defaults.root_path, str),
        # the engine refuses what the ws layer would refuse, before buffering it
        ws_max_message_size=(
            WsSettings.from_config(config).max_message_size if kind == "ws" else None
        ),
    )


def describe_failure(exc: BaseException, app_dir: Path) -> str:
    """A boot failure as our multi-line message: framework errors as they are, others with
    the app file and line they came from."""
    if isinstance(exc, FrameworkError):
        return str(exc)
    root = str(app_dir)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(root)]
    lines = [f"the app failed to boot: {type(exc).__name__}: {exc}"]
    if frames:
        lines.append(f"at: {frames[-1].filename}:{frames[-1].lineno}")
    lines.append("fix: correct the error above; the full traceback is in the server log")
    return describe(lines)
