"""The event manager: listeners sorted once at boot, matched by name or glob."""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from framework.errors import FrameworkError, describe

__all__ = ["Event", "EventError", "EventManager", "Listener"]


class EventError(FrameworkError):
    """An event could not be delivered as asked (an async listener reached by sync ``emit``)."""


@dataclass(slots=True)
class Event:
    """What listeners receive. Call :meth:`stop` to keep lower-priority listeners from running."""

    name: str
    payload: Any = None
    stopped: bool = False

    def stop(self) -> None:
        self.stopped = True


@dataclass(frozen=True, slots=True)
class Listener:
    """A resolved listener: ``resolve()`` returns the callable (bound method or function)."""

    pattern: str
    priority: int
    resolve: Callable[[], Callable[[Event], Any]]
    is_async: bool
    label: str
    order: int = field(default=0)


class EventManager:
    """Emits events to listeners, highest priority first.

    The manager is a bean: inject ``EventManager`` anywhere to emit application events.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._cache: dict[str, tuple[Listener, ...]] = {}

    def __len__(self) -> int:
        return len(self._listeners)

    def add(self, listener: Listener) -> None:
        """Add a listener (the events extension does this at boot)."""
        self._listeners.append(listener)
        self._listeners.sort(key=lambda item: (-item.priority, item.order))
        self._cache.clear()

    def listeners_for(self, name: str) -> tuple[Listener, ...]:
        found = self._cache.get(name)
        if found is None:
            found = tuple(
                item
                for item in self._listeners
                if item.pattern == name or fnmatch.fnmatchcase(name, item.pattern)
            )
            self._cache[name] = found
        return found

    def emit(self, name: str, payload: Any = None) -> Event:
        """Call the sync listeners of ``name`` in priority order and return the event.

        Raises:
            EventError: one of the listeners is ``async``; use :meth:`aemit`.
        """
        event = Event(name, payload)
        for item in self.listeners_for(name):
            if item.is_async:
                raise EventError(
                    describe(
                        [
                            f"event {name!r} has an async listener, {item.label}",
                            "fix: emit it with `await events.aemit(...)`",
                        ]
                    )
                )
            item.resolve()(event)
            if event.stopped:
                break
        return event

    async def aemit(self, name: str, payload: Any = None) -> Event:
        """Call every listener of ``name``, awaiting async ones, in priority order."""
        event = Event(name, payload)
        for item in self.listeners_for(name):
            result = item.resolve()(event)
            if inspect.isawaitable(result):
                await result
            if event.stopped:
                break
        return event
