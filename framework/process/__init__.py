"""The process manager behind ``appctl``: master, workers, pid file, daemon, control socket.

A master binds the listening socket once and supervises N workers, fresh interpreters that
inherit it, boot the app and serve it (DESIGN.md §3). ``framework.process.manager`` has the
operations ``appctl`` runs; docs/cli.md describes them for users.
"""

from framework.process.errors import (
    AlreadyRunningError,
    ControlError,
    NotRunningError,
    ProcessError,
    ReloadError,
    StartError,
    exit_code_of,
)
from framework.process.kinds import APP_TYPES, KINDS, ServerKind, ServerUnavailableError
from framework.process.runtime import RuntimePaths
from framework.process.settings import ServerSettings

__all__ = [
    "APP_TYPES",
    "KINDS",
    "AlreadyRunningError",
    "ControlError",
    "NotRunningError",
    "ProcessError",
    "ReloadError",
    "RuntimePaths",
    "ServerKind",
    "ServerSettings",
    "ServerUnavailableError",
    "StartError",
    "exit_code_of",
]
