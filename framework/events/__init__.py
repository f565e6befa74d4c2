"""Events: ``@listener`` beans and functions, ``emit``/``aemit``, and lifecycle event names."""

from framework.events.extension import EventsExtension
from framework.events.lifecycle import (
    APP_BOOT_AFTER,
    APP_BOOT_BEFORE,
    APP_SHUTDOWN,
    APP_STARTUP,
    SERVER_START,
    SERVER_STOP,
    WORKER_START,
    WORKER_STOP,
)
from framework.events.manager import Event, EventError, EventManager
from framework.events.marks import ListenerMark, listener

__all__ = [
    "APP_BOOT_AFTER",
    "APP_BOOT_BEFORE",
    "APP_SHUTDOWN",
    "APP_STARTUP",
    "SERVER_START",
    "SERVER_STOP",
    "WORKER_START",
    "WORKER_STOP",
    "Event",
    "EventError",
    "EventManager",
    "EventsExtension",
    "ListenerMark",
    "listener",
]
