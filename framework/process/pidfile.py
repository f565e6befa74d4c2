"""The pid file: ``runtime/<server>.pid``, locked with ``flock`` for as long as the master runs.

The lock, not the file's existence, says whether a server runs: the kernel drops it when the
master dies however it dies, so a pid file left by a ``kill -9`` is recognised as stale and
replaced. ``flock`` locks belong to the open file, so the lock taken before daemonizing stays
held by the daemon after the parent exits.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from framework.errors import describe
from framework.process.errors import AlreadyRunningError

__all__ = ["PidFile", "read_running"]


class PidFile:
    """An acquired pid file. Create it with :meth:`acquire`; :meth:`release` on exit."""

    def __init__(self, path: Path, fd: int, stale_pid: int | None) -> None:
        self.path = path
        self._fd: int | None = fd
        #: The pid a stale file named (its process was not running), for the log.
        self.stale_pid = stale_pid

    @classmethod
    def acquire(cls, path: Path, *, server: str = "server") -> PidFile:
        """Lock ``path`` (creating it); a stale file is taken over.

        Raises:
            AlreadyRunningError: another process holds the lock.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            pid = _read_pid(path)
            shown = f"pid {pid}" if pid else "pid unknown"
            raise AlreadyRunningError(
                describe(
                    [
                        f"the {server} server is already running ({shown})",
                        f"pid file: {path}",
                        f"fix: stop it first with `appctl {server}:stop`, or use "
                        f"`appctl {server}:restart`",
                    ]
                ),
                pid,
            ) from None
        stale = _read_pid(path)
        return cls(path, fd, stale)

    def write(self, pid: int | None = None) -> None:
        """Record ``pid`` (default: this process) in the file."""
        if self._fd is None:
            raise RuntimeError("pid file already closed")
        data = f"{pid or os.getpid()}\n".encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def close(self) -> None:
        """Close this process's descriptor (the lock stays held by other copies of it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def release(self) -> None:
        """Remove the file and drop the lock: the server no longer runs."""
        if self._fd is None:
            return
        try:
            if _read_pid(self.path) in (os.getpid(), None):
                self.path.unlink(missing_ok=True)
        finally:
            self.close()


def read_running(path: Path) -> int | None:
    """The pid of the running master, or ``None`` when none runs (a stale file is removed)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            return _read_pid(path) or 0
        # Nobody holds the lock: whatever pid the file names is not our master.
        path.unlink(missing_ok=True)
        return None
    finally:
        os.close(fd)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
