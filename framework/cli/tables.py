"""Plain-text tables for the terminal, and the Workerman-style ``status`` view."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = ["duration", "megabytes", "render_status", "table"]

_WIDTH = 80


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces; ``None`` shows as ``-``."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def duration(seconds: float) -> str:
    """``1d 02:03:04`` / ``02:03:04``."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


def megabytes(size: int | None) -> str | None:
    return None if size is None else f"{size / (1024 * 1024):.1f}M"


def _rule(title: str) -> str:
    return f" {title} ".center(_WIDTH, "-")


def render_status(status: dict[str, Any]) -> str:
    """The ``<server>:status`` answer of a master as text."""
    now = float(status.get("now") or time.time())
    started = float(status["started"])
    load = status.get("load")
    rows = status.get("rows", [])
    header = [
        _rule(f"SWOOP {status['title'].upper()} SERVER"),
        f"Swoop version: {status['swoop']:<18} Python version: {status['python']}",
        f"start time: {datetime.fromtimestamp(started):%Y-%m-%d %H:%M:%S}   "
        f"uptime: {duration(now - started)}",
        "load average: "
        + (", ".join(f"{v:.2f}" for v in load) if load else "-")
        + f"   master pid: {status['pid']}   state: {status['state']}",
        f"listen: {status['listen']}   workers: {status['workers']}"
        + (f"   standby: {status['standby']}" if status.get("standby") else "")
        + ("   (daemon)" if status.get("daemon") else "")
        + ("   (watching for changes)" if status.get("watch") else ""),
        _rule("WORKERS"),
    ]
    body = table(
        ["pid", "slot", "state", "memory", "connections", "requests", "qps", "uptime"],
        [
            [
                r["pid"],
                r["slot"],
                r["state"],
                megabytes(r.get("rss")),
                r.get("connections"),
                r["requests"],
                f"{float(r['qps']):.1f}",
                duration(now - float(r["started"])),
            ]
            for r in rows
        ],
    )
    sections = [*header, body]
    split = status.get("gateways") or []
    if split:  # a split ws server: the processes holding the WebSockets
        sections += [_rule("SPLIT GATEWAYS"), _split_gateways(split)]
    buses = [r for r in rows if r.get("bus")]
    if not buses:
        return "\n".join([*sections, "-" * _WIDTH])
    gateway = table(
        ["pid", "bus", "uids", "groups", "msgs in", "msgs out", "dropped", "reconnects"],
        [
            [
                r["pid"],
                r["bus"].get("bus"),
                r["bus"].get("uids"),
                r["bus"].get("groups"),
                r["bus"].get("messages_in"),
                r["bus"].get("messages_out"),
                r["bus"].get("dropped"),
                r["bus"].get("reconnects"),
            ]
            for r in buses
        ],
    )
    return "\n".join([*sections, _rule("GATEWAY"), gateway, "-" * _WIDTH])


def _split_gateways(gateways: Sequence[dict[str, Any]]) -> str:
    columns = ("connections", "ready_links", "in", "out", "http", "resent", "lost", "refused")
    titles = ("conns", "workers", "in", "out", "http", "resent", "lost", "refused", "dropped")
    return table(
        ["pid", "gateway", "state", *titles],
        [
            [g.get("pid"), f"gw{g.get('index')}", g.get("state")]
            + [g.get(key) for key in columns]
            + [g.get("dropped")]
            for g in gateways
        ],
    )
