"""Daemon mode: detach from the terminal before any thread or event loop exists.

The classic double fork: the first child calls ``setsid`` (a new session, no controlling
terminal), forks again and exits, so the daemon is not a session leader and can never
acquire a terminal. The daemon's stdin is ``/dev/null``; stdout and stderr go to the app
log, which is what the workers inherit too.

The process that ran ``appctl`` waits on a pipe until the daemon reports: started (all
workers READY) or failed (with the worker's error). Only then does it print and exit, so
``start -d`` fails visibly when the app cannot boot.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from framework.process import protocol

__all__ = ["Daemon", "DetachReport", "detach"]


@dataclass(frozen=True, slots=True)
class DetachReport:
    """What the daemon told the process that started it (returned in that process)."""

    ok: bool
    pid: int | None
    text: str


class Daemon:
    """Returned in the daemon: report the start's outcome to the waiting parent, once."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def report(self, ok: bool, text: str) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.write(fd, protocol.encode({"ok": ok, "pid": os.getpid(), "text": text}))
        os.close(fd)


def detach(log_file: Path, *, cwd: Path) -> Daemon | DetachReport:
    """Become a daemon writing to ``log_file``.

    Returns a :class:`Daemon` in the daemon, and in the calling process, once the daemon
    reported or died, a :class:`DetachReport`; the caller then exits.

    Raises:
        RuntimeError: called while threads run (a fork would copy them half-way).
    """
    if threading.active_count() > 1:
        raise RuntimeError("daemonize before starting threads; fork keeps only one of them")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    first = os.fork()
    if first:
        os.close(write_end)
        os.waitpid(first, 0)
        return _wait_report(read_end, log_file)
    os.close(read_end)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.chdir(cwd)
    os.umask(0o022)
    _redirect_stdio(log_file)
    return Daemon(write_end)


def _redirect_stdio(log_file: Path) -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)


def _wait_report(fd: int, log_file: Path) -> DetachReport:
    decoder = protocol.LineDecoder()
    messages: list[protocol.Message] = []
    with os.fdopen(fd, "rb") as pipe:
        for chunk in iter(lambda: pipe.read1(65536), b""):
            messages.extend(decoder.feed(chunk))
    if not messages:
        return DetachReport(False, None, f"the server exited while starting\n  see: {log_file}")
    message = messages[0]
    pid = message.get("pid")
    return DetachReport(
        bool(message.get("ok")), pid if isinstance(pid, int) else None, str(message["text"])
    )
