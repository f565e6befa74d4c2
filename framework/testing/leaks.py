"""Find what a test left running: listening sockets, child processes, threads.

Linux only (reads ``/proc``); elsewhere the socket and process checks find nothing.
"""

from __future__ import annotations

import gc
import os
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Snapshot", "leaks_since", "snapshot"]

_LISTEN = "0A"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Resources of this process at one moment."""

    listening: frozenset[str]  # "127.0.0.1:54321"
    children: frozenset[int]
    threads: frozenset[int]


def _socket_inodes() -> set[str]:
    found: set[str] = set()
    try:
        entries = list(Path("/proc/self/fd").iterdir())
    except OSError:
        return found
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def _address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    if len(host) == 8:
        octets = bytes.fromhex(host)[::-1]
        return f"{'.'.join(str(b) for b in octets)}:{int(port, 16)}"
    return f"[{host}]:{int(port, 16)}"


def _listening(inodes: set[str]) -> set[str]:
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN and fields[9] in inodes:
                found.add(_address(fields[1]))
    return found


def _children() -> set[int]:
    found: set[int] = set()
    for task in Path("/proc/self/task").glob("*/children"):
        try:
            found.update(int(pid) for pid in task.read_text().split())
        except OSError:
            continue
    return found


def snapshot() -> Snapshot:
    """What this process holds now (after a garbage collection, so dropped sockets close)."""
    gc.collect()
    threads = {t.ident for t in threading.enumerate() if t.ident is not None and t.is_alive()}
    return Snapshot(
        frozenset(_listening(_socket_inodes())), frozenset(_children()), frozenset(threads)
    )


def leaks_since(before: Snapshot) -> list[str]:
    """Human-readable descriptions of what is running now that was not before."""
    now = snapshot()
    leaks = [f"listening socket {a}" for a in sorted(now.listening - before.listening)]
    leaks += [f"child process {pid}" for pid in sorted(now.children - before.children)]
    names = {t.ident: t.name for t in threading.enumerate()}
    leaks += [f"thread {names.get(i, i)!r}" for i in sorted(now.threads - before.threads)]
    return leaks
