"""The master's answer to ``<server>:status``: a header about the server, a row per worker.

A split ``ws`` server also lists its gateways: as rows (``role: "gateway"``, slot
``gw<n>``; they hold the connections) and under ``gateways`` with their counters
(connections, business links, frames in and out, HTTP requests, events resent, lost,
refused, dropped).
"""

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
    gateways: Sequence[WorkerProcess] = (),
) -> dict[str, Any]:
    """The JSON object ``appctl <server>:status`` renders (``--json`` prints it as is)."""
    from framework import __version__

    pids = [w.pid for w in (*workers, *gateways)]
    connections = procfs.connection_counts(pids, listener.getsockname()[1])
    gateway_rows = [_gateway_row(g, connections) for g in gateways]
    answer = {
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
        "rows": [w.row(connections) for w in workers] + gateway_rows,
    }
    if settings.split:
        answer["split"] = True
        answer["gateways"] = [
            {"index": g.slot, "pid": g.pid, "state": g.state, **(g.gateway or {})} for g in gateways
        ]
    return answer


def _gateway_row(gateway: WorkerProcess, connections: dict[int, int] | None) -> dict[str, Any]:
    row = gateway.row(connections)
    row["slot"] = f"gw{gateway.slot}"
    return row
