"""Where a server keeps its run-time files: ``<app_dir>/runtime/`` by default.

=============================  ==================================================
``runtime/<server>.pid``       the master's pid, locked while it runs
``runtime/<server>.sock``      the master's control socket (status, reload, stop)
``runtime/logs/<server>.log``  daemon mode: master and worker output (app log)
``runtime/logs/<server>.access.log``  daemon mode: one line per request
=============================  ==================================================

``server.pid_file`` and ``server.log_dir`` move them (relative to the app directory;
``{server}`` in them is replaced by the server kind).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_LOG_DIR", "DEFAULT_PID_FILE", "RuntimePaths"]

DEFAULT_PID_FILE = "runtime/{server}.pid"
DEFAULT_LOG_DIR = "runtime/logs"

# sun_path holds 108 bytes on Linux, 104 on macOS, including the terminating NUL.
_MAX_UNIX_PATH = 100


@dataclass(frozen=True, slots=True)
class RuntimePaths:
    """The run-time files of one server kind of one app (absolute paths)."""

    app_dir: Path
    server: str
    pid_file: Path
    log_dir: Path

    @classmethod
    def of(
        cls,
        app_dir: str | os.PathLike[str],
        server: str,
        *,
        pid_file: str = DEFAULT_PID_FILE,
        log_dir: str = DEFAULT_LOG_DIR,
    ) -> RuntimePaths:
        root = Path(app_dir).resolve()
        return cls(
            app_dir=root,
            server=server,
            pid_file=root / pid_file.format(server=server),
            log_dir=root / log_dir.format(server=server),
        )

    @property
    def control(self) -> Path:
        """The control socket, next to the pid file."""
        return self.pid_file.with_suffix(".sock")

    @property
    def hub(self) -> Path:
        """The WebSocket hub's socket (ws servers with several workers), next to the pid file."""
        return self.pid_file.with_name(f"{self.server}-hub.sock")

    @property
    def app_log(self) -> Path:
        return self.log_dir / f"{self.server}.log"

    @property
    def access_log(self) -> Path:
        return self.log_dir / f"{self.server}.access.log"

    def ensure(self) -> None:
        """Create the directories that hold the files."""
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def display(self, path: Path) -> str:
        """``path`` relative to the app directory when it lies inside it."""
        try:
            return str(path.relative_to(self.app_dir))
        except ValueError:
            return str(path)


def unix_address(path: Path) -> str:
    """A form of ``path`` short enough for a Unix socket address (relative if need be)."""
    text = str(path)
    if len(text.encode()) <= _MAX_UNIX_PATH:
        return text
    relative = os.path.relpath(text)
    if len(relative.encode()) <= _MAX_UNIX_PATH:
        return relative
    return text  # bind/connect then fails with a clear OSError naming the path
