"""What ``appctl <server>:<command>`` does: start, stop, reload, status, restart.

These run in the ``appctl`` process, without an event loop until the master starts one
(after daemonizing). Each raises a :class:`~framework.process.errors.ProcessError` whose
``exit_code`` the CLI exits with.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from framework.errors import describe
from framework.process import control
from framework.process.daemon import DetachReport, detach
from framework.process.errors import (
    ControlError,
    NotRunningError,
    ProcessError,
    ReloadError,
    StartError,
)
from framework.process.master import Master
from framework.process.pidfile import PidFile, read_running
from framework.process.runtime import RuntimePaths
from framework.process.settings import ServerSettings

__all__ = ["reload", "running_pid", "start", "status", "stop"]

log = logging.getLogger("swoop.master")

Echo = Callable[[str], None]

#: How long ``stop`` waits beyond the workers' timeout before it kills the master.
STOP_SLACK = 5.0
STATUS_TIMEOUT = 5.0


def start(settings: ServerSettings, echo: Echo) -> int:
    """Start the server; in the foreground this returns only when it stopped.

    Raises:
        AlreadyRunningError: the pid file is locked by a running master.
        BindError: the address cannot be bound.
        StartError: the workers failed to boot (the message is the worker's error).
    """
    settings.kind.require()
    paths = settings.paths
    paths.ensure()
    pidfile = PidFile.acquire(paths.pid_file, server=settings.kind.name)
    try:
        listeners = _bind(settings)
    except BaseException:
        pidfile.release()
        raise
    if settings.daemonize:
        outcome = detach(paths.app_log, cwd=paths.app_dir)
        if isinstance(outcome, DetachReport):
            for listener in listeners:
                listener.close()
            pidfile.close()  # the daemon holds the lock through its copy
            if not outcome.ok:
                raise StartError(outcome.text)
            echo(f"{outcome.text}\nlogs: {paths.display(paths.app_log)}")
            return 0
        daemon = outcome

        def report(ok: bool, text: str) -> None:
            (log.info if ok else log.error)("%s", text)
            daemon.report(ok, text)

    else:
        report = _foreground_report
    _configure_logging()
    pidfile.write()
    if pidfile.stale_pid:
        log.info("replaced a stale pid file (pid %d was not running)", pidfile.stale_pid)
    failure: list[str] = []

    def on_report(ok: bool, text: str) -> None:
        if not ok:
            failure.append(text)
        report(ok, text)

    try:
        code = asyncio.run(Master(settings, listeners, on_report).run())
    finally:
        pidfile.release()
    if failure and not settings.daemonize:  # a daemon reported it to its parent already
        raise StartError(failure[0])
    return code


def _foreground_report(ok: bool, text: str) -> None:
    if ok:
        log.info("%s", text)


def _configure_logging() -> None:
    # stdout: a container's log; in daemon mode stdout and stderr are the app log.
    fmt = "%(asctime)s [master %(process)d] %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=fmt, stream=sys.stdout, force=True)


def running_pid(paths: RuntimePaths) -> int:
    """The pid of the running master.

    Raises:
        NotRunningError: no master runs (a stale pid file is removed).
    """
    pid = read_running(paths.pid_file)
    if pid is None:
        paths.control.unlink(missing_ok=True)  # left by a master that was killed
        raise NotRunningError(
            describe(
                [
                    f"the {paths.server} server is not running",
                    f"pid file: {paths.display(paths.pid_file)} (none, or stale)",
                    f"fix: start it with `appctl {paths.server}:start -d`",
                ]
            )
        )
    return pid


def stop(paths: RuntimePaths, timeout: float) -> int:
    """Stop the server gracefully: workers get ``timeout`` seconds, then are killed.

    Returns the master's pid once it has exited (its pid file is gone, its port closed).

    Raises:
        NotRunningError: it is not running.
        ProcessError: the master did not exit; it was killed.
    """
    pid = running_pid(paths)
    try:
        control.request(paths.control, {"cmd": "stop", "timeout": timeout}, timeout=5.0)
    except ControlError:
        if pid > 0:  # no control socket: fall back to the signal
            _kill(pid, signal.SIGTERM)
    if _wait_stopped(paths, timeout + STOP_SLACK):
        return pid
    if pid > 0:
        _kill(pid, signal.SIGKILL)
    _wait_stopped(paths, 5.0)
    raise ProcessError(
        describe(
            [
                f"the {paths.server} master (pid {pid}) did not stop within "
                f"{timeout + STOP_SLACK:g} s and was killed",
                f"fix: check {paths.display(paths.app_log)}; workers exit when the master is gone",
            ]
        )
    )


def _wait_stopped(paths: RuntimePaths, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if read_running(paths.pid_file) is None:
            return True
        time.sleep(0.05)
    return read_running(paths.pid_file) is None


def _kill(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def reload(paths: RuntimePaths, *, timeout: float = 600.0) -> str:
    """Rolling reload; returns the master's summary.

    Raises:
        NotRunningError: it is not running.
        ReloadError: a new worker failed to boot (its error); the old workers still serve.
    """
    running_pid(paths)
    answer = control.request(paths.control, {"cmd": "reload"}, timeout=timeout)
    if not answer.get("ok"):
        raise ReloadError(str(answer.get("error", "reload failed")))
    return str(answer.get("message", "reloaded"))


def status(paths: RuntimePaths) -> dict[str, Any]:
    """The master's status answer (see :meth:`Master.status`).

    Raises:
        NotRunningError: it is not running.
        ControlError: the master did not answer.
    """
    running_pid(paths)
    return control.request(paths.control, {"cmd": "status"}, timeout=STATUS_TIMEOUT)


def _bind(settings: ServerSettings) -> list[socket.socket]:
    """The listening sockets: one, or with ``server.reuse_port`` one per accepting process,
    all on the same port (the first one's, when the port is 0)."""
    from framework.server import bind_tcp

    reuse = settings.reuse_port
    first = bind_tcp(settings.host, settings.port, backlog=settings.backlog, reuse_port=reuse)
    listeners = [first]
    try:
        port = first.getsockname()[1]
        for _ in range(settings.listeners - 1):
            listeners.append(
                bind_tcp(settings.host, port, backlog=settings.backlog, reuse_port=True)
            )
    except BaseException:
        for listener in listeners:
            listener.close()
        raise
    return listeners
