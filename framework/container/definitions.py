"""What boot builds from a bean mark: a :class:`BeanDefinition`."""

from __future__ import annotations

import inspect
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
    """``path/to/module.py:12`` for a class or function, as precise as inspect can tell."""
    target = getattr(obj, "__func__", obj)
    try:
        path = inspect.getsourcefile(target) or "<unknown>"
        line = inspect.getsourcelines(target)[1]
    except (OSError, TypeError):
        return getattr(target, "__module__", "<unknown>")
    return f"{_short(path)}:{line}"


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
    location: str = ""
    index: int = field(default=-1)

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
        location=location_of(cls),
    )
