"""The master's answer to ``<server>:status``: a header about the server, a row per worker."""

from __future__ import annotations

import os
import platform
import socket
import time
from collections.abc import Sequence
from typing import Any

from framework.process import procfs
from framework.process.settings import ServerSettings
from framework.process.supervisor import WorkerProcess

__all__ = ["listen_url", "status_answer"]


def listen_url(listener: socket.socket) -> str:
    from framework.server import endpoint

    return f"http://{endpoint(listener)}"


def status_answer(
    settings: ServerSettings,
    listener: socket.socket,
    started_at: float,
    state: str,
    workers: Sequence[WorkerProcess],
    standby: WorkerProcess | None,
) -> dict[str, Any]:
    """The JSON object ``appctl <server>:status`` renders (``--json`` prints it as is)."""
    from framework import __version__

    connections = procfs.connection_counts([w.pid for w in workers], listener.getsockname()[1])
    return {
        "ok": True,
        "server": settings.kind.name,
        "title": settings.kind.title,
        "swoop": __version__,
        "python": platform.python_version(),
        "pid": os.getpid(),
        "listen": listen_url(listener),
        "app_dir": str(settings.app_dir),
        "started": started_at,
        "now": time.time(),
        "load": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "workers": settings.workers,
        "daemon": settings.daemonize,
        "watch": settings.watch,
        "state": state,
        "standby": standby.pid if standby is not None else None,
        "overrides": dict(settings.overrides),
        "rows": [w.row(connections) for w in workers],
    }
