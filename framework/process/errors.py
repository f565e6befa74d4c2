"""Errors of the process manager, each with the exit code ``appctl`` uses for it.

=====  ===========================================================================
code   meaning
=====  ===========================================================================
0      success
1      error: the app failed to boot, a reload failed, the port is taken ...
2      usage error: unknown command or option, bad option value (typer/click)
3      not running: stop, reload or status on a server that is not running
4      already running: start on a server that is running
=====  ===========================================================================
"""

from __future__ import annotations

from typing import ClassVar

from framework.errors import FrameworkError

__all__ = [
    "AlreadyRunningError",
    "ControlError",
    "NotRunningError",
    "ProcessError",
    "ReloadError",
    "StartError",
    "exit_code_of",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_ALREADY_RUNNING = 4


class ProcessError(FrameworkError):
    """A process-manager operation failed; ``exit_code`` is what ``appctl`` exits with."""

    exit_code: ClassVar[int] = EXIT_ERROR


class AlreadyRunningError(ProcessError):
    """``start`` found the server already running (its pid file is locked)."""

    exit_code = EXIT_ALREADY_RUNNING

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class NotRunningError(ProcessError):
    """``stop``, ``reload`` or ``status`` found no running server."""

    exit_code = EXIT_NOT_RUNNING


class StartError(ProcessError):
    """The server did not start: its workers failed to boot (the message is theirs)."""


class ReloadError(ProcessError):
    """A rolling reload stopped: a replacement worker failed; the old workers still serve."""


class ControlError(ProcessError):
    """The master did not answer on its control socket."""


def exit_code_of(error: BaseException) -> int:
    """The ``appctl`` exit code for ``error`` (1 for anything not a :class:`ProcessError`)."""
    return error.exit_code if isinstance(error, ProcessError) else EXIT_ERROR
