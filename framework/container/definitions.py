"""What boot builds from a bean mark: a :class:`BeanDefinition`."""

from __future__ import annotations

import inspect
import linecache
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from framework import marks
from framework.container.marks import BeanMark, Scope

__all__ = ["BeanDefinition", "definition_from_class", "location_of", "snake_name"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_name(cls: type) -> str:
    """``UserService`` -> ``user_service``: the default bean name."""
    return _CAMEL.sub("_", cls.__name__).lower()


def location_of(obj: Any) -> str:
    """``path/to/module.py:12`` for a class or function, as precise as the source allows."""
    target = getattr(obj, "__func__", obj)
    code = getattr(target, "__code__", None)
    if code is not None:
        return f"{_short(code.co_filename)}:{code.co_firstlineno}"
    if inspect.isclass(target):
        found = _class_line(target)
        if found is not None:
            return found
    try:
        path = inspect.getsourcefile(target) or "<unknown>"
        line = inspect.getsourcelines(target)[1]
    except (OSError, TypeError):
        return getattr(target, "__module__", "<unknown>")
    return f"{_short(path)}:{line}"


def _class_line(cls: type) -> str | None:
    """The ``class`` line, found from a method's first line by reading back through the file.

    ``inspect.getsourcelines`` parses the whole module for each class: far too slow for
    every bean at boot. A method's code object knows its file and line, and ``linecache``
    reads each file once.
    """
    prefix = cls.__qualname__ + "."
    lines = [
        (fn.__code__.co_filename, fn.__code__.co_firstlineno)
        for fn in (getattr(v, "__func__", v) for v in vars(cls).values())
        if getattr(fn, "__code__", None) is not None and fn.__qualname__.startswith(prefix)
    ]
    if not lines:
        return None
    filename, first = min(lines, key=lambda item: item[1])
    header = f"class {cls.__name__}"
    for number in range(first, 0, -1):
        text = linecache.getline(filename, number).lstrip()
        if text.startswith(header) and text[len(header) : len(header) + 1] in ("(", ":"):
            return f"{_short(filename)}:{number}"
    return None


def _short(path: str) -> str:
    import os

    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


@dataclass(eq=False, slots=True)
class BeanDefinition:
    """One bean the container can build.

    Attributes:
        name: unique bean name (``Named`` lookups).
        cls: the class built (or the type a factory/instance provides).
        scope: singleton, prototype or request.
        aliases: more names.
        primary: preferred among several beans of one type.
        factory: builds the object instead of ``cls(...)``; its parameters are injected too.
        instance: a ready object (singleton); no construction.
        marks: the marks on ``cls`` (extensions read them).
        location: ``file:line`` where the bean is declared, for error messages.
    """

    name: str
    cls: type
    scope: Scope = Scope.SINGLETON
    aliases: tuple[str, ...] = ()
    primary: bool = False
    factory: Callable[..., Any] | None = None
    instance: Any = None
    has_instance: bool = False
    marks: tuple[object, ...] = ()
    declared_at: str = ""
    index: int = field(default=-1)

    @property
    def location(self) -> str:
        """``file:line`` of the declaration, read from the source only when a message needs it
        (inspect parses the whole module: far too slow to do for every bean at boot)."""
        if not self.declared_at:
            self.declared_at = location_of(self.factory or self.cls)
        return self.declared_at

    @location.setter
    def location(self, value: str) -> None:
        self.declared_at = value

    @property
    def label(self) -> str:
        return self.cls.__qualname__

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def definition_from_class(cls: type, mark: BeanMark | None = None) -> BeanDefinition:
    """Build the definition of a ``@bean`` class (or a class marked by a bean-making decorator)."""
    mark = mark or marks.first(cls, BeanMark) or BeanMark()
    return BeanDefinition(
        name=mark.name or snake_name(cls),
        cls=cls,
        scope=mark.scope,
        aliases=mark.alias,
        primary=mark.primary,
        marks=marks.marks_of(cls),
    )
