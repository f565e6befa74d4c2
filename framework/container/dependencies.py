"""Read, once at boot, what a class constructor or a function needs from the container."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, get_args, get_origin

from framework.container.errors import InjectionError
from framework.container.marks import ConfigValue, InjectedAttribute, Named
from framework.errors import describe

__all__ = ["Dependency", "Provider", "attribute_dependencies", "call_dependencies"]

T = TypeVar("T")

_EMPTY = inspect.Parameter.empty


class Provider(Generic[T]):
    """Inject ``Provider[T]`` to resolve ``T`` on each call instead of once.

    This is how a singleton uses a request-scoped or prototype bean: it keeps the provider
    and calls it per use, getting the bean of the current request scope.
    """

    __slots__ = ("_get",)

    def __init__(self, get: Callable[[], T]) -> None:
        self._get = get

    def __call__(self) -> T:
        return self._get()


@dataclass(frozen=True, slots=True)
class Dependency:
    """One injectable slot: a constructor/function parameter or a class attribute."""

    name: str
    kind: str  # "positional", "keyword" or "attribute"
    annotation: Any
    named: str | None = None
    config: ConfigValue | None = None
    optional: bool = False  # ``T | None``: None when no bean provides T
    has_default: bool = False
    provider: bool = False  # ``Provider[T]``


def _split(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    if get_origin(hint) is Annotated:
        base, *extras = get_args(hint)
        return base, tuple(extras)
    return hint, ()


def _strip_optional(hint: Any) -> tuple[Any, bool]:
    if get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(get_args(hint)) == 2:
            return args[0], True
    return hint, False


def _dependency(name: str, kind: str, hint: Any, has_default: bool) -> Dependency:
    base, extras = _split(hint)
    named = next((e.name for e in extras if isinstance(e, Named)), None)
    config = next((e for e in extras if isinstance(e, ConfigValue)), None)
    base, optional = _strip_optional(base)
    provider = get_origin(base) is Provider
    if provider:
        base = get_args(base)[0]
    return Dependency(name, kind, base, named, config, optional, has_default, provider)


def _hints(target: Any, owner: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(target, include_extras=True)
    except NameError as exc:
        raise InjectionError(
            describe(
                [
                    f"cannot read the type hints of {owner}: {exc}",
                    "fix: import the name at module level (not only under TYPE_CHECKING) "
                    "so the container can resolve it",
                ]
            )
        ) from exc


def call_dependencies(
    target: Callable[..., Any], owner: str, where: str | Callable[[], str]
) -> list[Dependency]:
    """The injectable parameters of ``target`` (a class's ``__init__`` or a function).

    Raises:
        InjectionError: a parameter without a default has no type hint.
    """
    if target is object.__init__:
        return []
    hints = _hints(target, owner)
    found: list[Dependency] = []
    for index, param in enumerate(inspect.signature(target).parameters.values()):
        if index == 0 and param.name in ("self", "cls") and inspect.isfunction(target):
            if "." in getattr(target, "__qualname__", ""):
                continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        has_default = param.default is not _EMPTY
        hint = hints.get(param.name, _EMPTY)
        if hint is _EMPTY:
            if has_default:
                continue
            raise InjectionError(
                describe(
                    [
                        f"cannot inject parameter {param.name!r} of {owner}: it has no type hint",
                        f"at: {where if isinstance(where, str) else where()}",
                        f"fix: annotate it, like `{param.name}: SomeBean`, or give it a default",
                    ]
                )
            )
        kind = "keyword" if param.kind is param.KEYWORD_ONLY else "positional"
        found.append(_dependency(param.name, kind, hint, has_default))
    return found


def attribute_dependencies(cls: type) -> list[Dependency]:
    """Class attributes declared ``x: T = inject()`` or ``x: T = config_value("key")``."""
    found: list[Dependency] = []
    hints: dict[str, Any] | None = None
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if not isinstance(value, InjectedAttribute | ConfigValue):
                continue
            if hints is None:
                hints = _hints(cls, cls.__qualname__)
            hint = hints.get(name, Any)
            if isinstance(value, ConfigValue):
                hint = Annotated[hint, value]
            elif value.name is not None:
                hint = Annotated[hint, Named(value.name)]
            found = [d for d in found if d.name != name]
            found.append(_dependency(name, "attribute", hint, False))
    return found
