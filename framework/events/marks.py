"""``@listener``: on a class (its ``handle(event)`` method), a bean method, or a function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from framework import marks
from framework.container.marks import BeanMark
from framework.errors import FrameworkError

__all__ = ["ListenerMark", "listener"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ListenerMark:
    """Recorded by :func:`listener`."""

    event: str
    priority: int = 0


def listener(event: str, *, priority: int = 0) -> Callable[[T], T]:
    """Call the decorated listener when ``event`` is emitted.

    ``event`` is a name or a glob (``"user.*"``). Listeners with a higher ``priority`` run
    first (as in Swoft); equal priorities run in scan order. On a class, the class becomes a
    singleton bean and its ``handle(self, event)`` method is called; on a method of a bean, that
    method is called; on a module-level function, the function is called. Listeners may be
    ``async def``: then emit with ``await events.aemit(...)``.

    Raises:
        FrameworkError: ``event`` is empty.

    Example::

        >>> from framework import listener
        >>> @listener("user.created", priority=10)
        ... class WelcomeMail:
        ...     def handle(self, event):
        ...         print("welcome", event.payload)
    """
    if not event:
        raise FrameworkError("listener() needs an event name or pattern, like 'user.created'.")
    mark = ListenerMark(event, priority)

    def record(target: T) -> T:
        marks.attach(target, mark)
        if isinstance(target, type) and marks.first(target, BeanMark) is None:
            marks.attach(target, BeanMark())
        return target

    return record
