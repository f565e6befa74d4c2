"""Attach and read decorator metadata: the only module that touches dunder attributes.

Every Swoop decorator is built on :func:`attach` (or :func:`recorder`): it stores a frozen mark
on the decorated object and returns the object unchanged, so a decorator never registers
anything globally and import order never matters. At boot, the scanner and the extensions read
the marks back with :func:`find`, :func:`first` and :func:`marked_members`.

A new decorator is a frozen dataclass plus a function returning :func:`recorder`::

    @dataclass(frozen=True, slots=True)
    class RateLimitMark:
        per_second: int

    def rate_limit(per_second: int) -> Callable[[F], F]:
        return recorder(RateLimitMark(per_second))

The boot step that consumes it is an :class:`framework.Extension` (see docs/extending.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["MarkedMember", "attach", "find", "first", "marked_members", "marks_of", "recorder"]

M = TypeVar("M")
T = TypeVar("T")

_ATTR = "__swoop_marks__"


def _holder(target: Any) -> Any:
    # staticmethod/classmethod objects keep their marks on the function they wrap, so a mark is
    # found whether the scanner reads the class dict or the bound attribute.
    return getattr(target, "__func__", target)


def attach(target: T, mark: object) -> T:
    """Attach ``mark`` to ``target`` (a class or a function) and return ``target`` unchanged.

    Marks live in the object's own ``__dict__``: a subclass does not inherit its base's class
    marks, so ``@bean`` on a base class does not make every subclass a bean.
    """
    holder = _holder(target)
    current: tuple[object, ...] = vars(holder).get(_ATTR, ())
    setattr(holder, _ATTR, (*current, mark))
    return target


def recorder(mark: object) -> Callable[[T], T]:
    """Return a decorator that attaches ``mark`` and returns the decorated object unchanged."""

    def record(target: T) -> T:
        return attach(target, mark)

    return record


def marks_of(target: object) -> tuple[object, ...]:
    """Every mark attached to ``target`` itself, in the order the decorators ran."""
    try:
        own = vars(_holder(target))
    except TypeError:  # objects without __dict__ (builtins, slotted instances) carry no marks
        return ()
    marks: tuple[object, ...] = own.get(_ATTR, ())
    return marks


def find(target: object, kind: type[M]) -> tuple[M, ...]:
    """The marks of type ``kind`` attached to ``target``."""
    return tuple(m for m in marks_of(target) if isinstance(m, kind))


def first(target: object, kind: type[M]) -> M | None:
    """The first mark of type ``kind`` attached to ``target``, or ``None``."""
    for mark in marks_of(target):
        if isinstance(mark, kind):
            return mark
    return None


@dataclass(frozen=True, slots=True)
class MarkedMember:
    """A function defined on a class (or inherited by it) that carries at least one mark."""

    owner: type
    name: str
    function: Callable[..., Any]
    marks: tuple[object, ...]

    def find(self, kind: type[M]) -> tuple[M, ...]:
        return tuple(m for m in self.marks if isinstance(m, kind))


def marked_members(cls: type) -> Iterator[MarkedMember]:
    """The marked functions of ``cls``, including inherited ones, most-derived definition first.

    An override without marks hides its base's marked definition, as attribute lookup would.
    """
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, raw in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            function = _holder(raw)
            if not callable(function) or inspect.isclass(function):
                continue
            found = marks_of(function)
            if found:
                yield MarkedMember(cls, name, function, found)
