"""Per-process numbers for ``status``, read from ``/proc`` (Linux; elsewhere ``None``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["connection_counts", "rss_bytes"]

_ESTABLISHED = "01"


def rss_bytes(pid: int) -> int | None:
    """Resident memory of ``pid`` (``VmRSS``), or ``None`` if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def connection_counts(pids: Iterable[int], port: int) -> dict[int, int] | None:
    """Established TCP connections to local ``port`` held by each of ``pids``."""
    inodes = _established_inodes(port)
    if inodes is None:
        return None
    counts: dict[int, int] = {}
    for pid in pids:
        counts[pid] = len(_socket_inodes(pid) & inodes)
    return counts


def _established_inodes(port: int) -> set[str] | None:
    found: set[str] = set()
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not any(t.exists() for t in tables):
        return None
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _ESTABLISHED:
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port:
                    found.add(fields[9])
    return found


def _socket_inodes(pid: int) -> set[str]:
    found: set[str] = set()
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for entry in entries:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{entry}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found
