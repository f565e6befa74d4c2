"""Instances made without their class's ``__init__``, for the per-request path.

On CPython 3.11 calling a class whose ``__init__`` is written in Python costs about as much
as a whole small handler; ``object.__new__(cls)`` is hardly cheaper. The HTTP path builds a
:class:`~framework.http.request.Request`, a response and a headers view per request behind
middleware, the WebSocket path a :class:`~framework.websocket.parsers.Message` per frame; they
fill the few slots themselves, so they ask :func:`blank_of` for a subclass that keeps
``object.__init__``: ``blank()`` is then a plain C-level instantiation.

The subclass has the same name, qualified name and module as its class and adds no slot, so
``isinstance`` checks, ``repr`` and attribute access behave as for the class itself; only
``type(x) is cls`` tells them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

__all__ = ["blank_of"]

T = TypeVar("T")


def blank_of(cls: type[T]) -> Callable[[], T]:
    """A callable making instances of (a subclass of) ``cls`` without ``cls.__init__``: the
    caller sets every attribute the instance needs."""
    namespace = {
        "__slots__": (),
        "__init__": object.__init__,
        "__qualname__": cls.__qualname__,
        "__module__": cls.__module__,
        "__doc__": cls.__doc__,
    }
    return cast(Callable[[], T], type(cls.__name__, (cls,), namespace))
