"""The container's decorators: ``bean``, ``inject``, ``config_value`` and ``Named``."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar, overload

from framework import marks
from framework.errors import FrameworkError

__all__ = [
    "BeanDeclarationError",
    "BeanMark",
    "ConfigValue",
    "InjectMark",
    "InjectedAttribute",
    "Named",
    "Scope",
    "bean",
    "config_value",
    "inject",
]

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])


class Scope(enum.Enum):
    """How long a bean lives: one per application, one per resolution, or one per request."""

    SINGLETON = "singleton"
    PROTOTYPE = "prototype"
    REQUEST = "request"


class BeanDeclarationError(FrameworkError):
    """A decorator of the container was given arguments it cannot use."""


@dataclass(frozen=True, slots=True)
class BeanMark:
    """Recorded by :func:`bean`, and by decorators that make a class a bean (``controller``)."""

    name: str | None = None
    scope: Scope = Scope.SINGLETON
    alias: tuple[str, ...] = ()
    primary: bool = False


@dataclass(frozen=True, slots=True)
class InjectMark:
    """Recorded by ``@inject`` on a function: its parameters are resolved by the container."""


@dataclass(frozen=True, slots=True)
class Named:
    """``Annotated[T, Named("x")]``: inject the bean named (or aliased) ``x``."""

    name: str


_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class ConfigValue:
    """A config key to inject: ``Annotated[int, config_value("server.port")]`` or an attribute."""

    key: str
    default: Any = _MISSING

    @property
    def required(self) -> bool:
        return self.default is _MISSING


@dataclass(frozen=True, slots=True)
class InjectedAttribute:
    """``repo: UserRepository = inject()``: the container sets the attribute after ``__init__``."""

    name: str | None = None


def _scope(value: str | Scope) -> Scope:
    try:
        return Scope(value)
    except ValueError:
        choices = ", ".join(repr(s.value) for s in Scope)
        raise BeanDeclarationError(
            f"bean scope {value!r} is not a scope; use one of {choices}."
        ) from None


@overload
def bean(cls: C, /) -> C: ...
@overload
def bean(
    *,
    name: str | None = None,
    scope: str | Scope = Scope.SINGLETON,
    alias: Iterable[str] = (),
    primary: bool = False,
) -> Callable[[C], C]: ...
def bean(
    cls: C | None = None,
    /,
    *,
    name: str | None = None,
    scope: str | Scope = Scope.SINGLETON,
    alias: Iterable[str] = (),
    primary: bool = False,
) -> C | Callable[[C], C]:
    """Make a class a bean: the container builds it, injecting its ``__init__`` by type hints.

    Args:
        name: the bean's name for ``Named`` lookups; defaults to the class name in snake_case.
        scope: ``"singleton"`` (one per application, built at boot), ``"prototype"`` (a new
            object per resolution) or ``"request"`` (one per request scope).
        alias: more names the bean answers to.
        primary: chosen when several beans provide a requested type.

    Returns:
        The class itself, unchanged.

    Raises:
        BeanDeclarationError: ``scope`` is not one of the three scopes.

    Example::

        >>> from framework import bean
        >>> @bean(scope="prototype")
        ... class Clock:
        ...     pass
        >>> Clock.__name__
        'Clock'
    """
    mark = BeanMark(name, _scope(scope), tuple(alias), primary)
    if cls is not None:
        return marks.attach(cls, mark)
    return marks.recorder(mark)


@overload
def inject(fn: F, /) -> F: ...
@overload
def inject(*, name: str | None = None) -> Any: ...
def inject(fn: F | None = None, /, *, name: str | None = None) -> F | Any:
    """Ask the container for dependencies.

    As a decorator, ``@inject`` marks a function whose parameters the container resolves when
    it calls it (``container.call(fn)``); on ``__init__`` it only documents what beans do anyway.
    As a class attribute default, ``repo: UserRepository = inject()`` (or
    ``inject(name="replica")``) asks for property injection after ``__init__``, as Swoft's
    ``@Inject`` does.

    Example::

        >>> from framework import inject
        >>> @inject
        ... def report(clock: "Clock") -> str:
        ...     return "ok"
        >>> report.__name__
        'report'
    """
    if fn is None:
        return InjectedAttribute(name)
    return marks.attach(fn, InjectMark())


def config_value(key: str, default: Any = _MISSING) -> Any:
    """Inject the config value at the dotted ``key`` (``default`` when the key is absent).

    Use it as ``Annotated`` metadata on an ``__init__`` parameter or as a class attribute
    default; the value is converted to the annotated type at boot.

    Raises:
        BeanDeclarationError: ``key`` is empty.

    Example::

        >>> from typing import Annotated
        >>> from framework import bean, config_value
        >>> @bean
        ... class Greeter:
        ...     greeting: str = config_value("app.greeting", default="hello")
    """
    if not key or key.startswith(".") or key.endswith("."):
        raise BeanDeclarationError(f"config key {key!r} is not a dotted key like 'app.name'.")
    return ConfigValue(key, default)
