"""Boot-time resolution: which bean satisfies each dependency, and the checks across beans.

Everything here runs once at boot. Errors show the resolution chain (STYLE.md §5).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from framework.container.definitions import BeanDefinition
from framework.container.dependencies import Dependency, attribute_dependencies, call_dependencies
from framework.container.errors import (
    AmbiguousBeanError,
    BeanNotFoundError,
    CircularDependencyError,
    DuplicateBeanError,
    ScopeWideningError,
)
from framework.container.marks import Scope
from framework.errors import describe

__all__ = ["Frame", "Index", "Special", "check_graph", "dependencies_of", "type_label"]


def type_label(tp: Any) -> str:
    return getattr(tp, "__qualname__", None) or repr(tp)


@dataclass(frozen=True, slots=True)
class Frame:
    """One step of a resolution chain: ``definition`` needs ``dependency``."""

    definition: BeanDefinition
    dependency: Dependency

    def render(self) -> str:
        where = "" if self.dependency.kind != "attribute" else f".{self.dependency.name}"
        return f"{self.definition.label}.__init__" if not where else self.definition.label + where


@dataclass(frozen=True, slots=True)
class Special:
    """A dependency satisfied by something other than a bean definition."""

    kind: str  # "config", "injector", "absent" (use the parameter default), "none"
    value: Any = None


def dependencies_of(definition: BeanDefinition) -> list[Dependency]:
    """Attribute injections, then constructor (or factory) parameters, for one bean."""
    if definition.has_instance:
        return []
    owner = definition.label
    if definition.factory is not None:
        fn = definition.factory
        return call_dependencies(fn, getattr(fn, "__qualname__", owner), _where(definition))
    attrs = attribute_dependencies(definition.cls)
    init = definition.cls.__init__  # type: ignore[misc]  # read, not called on an instance
    return attrs + call_dependencies(init, f"{owner}.__init__", _where(definition))


def _where(definition: BeanDefinition) -> Callable[[], str]:
    return lambda: definition.location


def _chain(frames: Sequence[Frame]) -> str:
    rendered = " -> ".join(f.render() for f in frames)
    last = frames[-1]
    return f"{rendered}({last.dependency.name}) ({last.definition.location})"


def _protocol_members(proto: type) -> set[str]:
    names: set[str] = set()
    for klass in proto.__mro__:
        if klass is object or getattr(klass, "_is_protocol", False) is False:
            continue
        names.update(n for n in vars(klass) if not n.startswith("_"))
        names.update(getattr(klass, "__annotations__", {}))
    return names


class Index:
    """Bean lookup by type (including bases and structural Protocols) and by name."""

    def __init__(self, definitions: Iterable[BeanDefinition]) -> None:
        self.definitions = list(definitions)
        self.by_type: dict[Any, list[BeanDefinition]] = {}
        self.by_name: dict[str, BeanDefinition] = {}
        for index, definition in enumerate(self.definitions):
            definition.index = index
            self._add_names(definition)
            for klass in inspect.getmro(definition.cls):
                if klass is not object and not getattr(klass, "_is_protocol", False):
                    self.by_type.setdefault(klass, []).append(definition)
                elif klass is not object:
                    self.by_type.setdefault(klass, []).append(definition)

    def _add_names(self, definition: BeanDefinition) -> None:
        for name in definition.names:
            other = self.by_name.get(name)
            if other is not None:
                raise DuplicateBeanError(
                    describe(
                        [
                            f"two beans are named {name!r}",
                            f"first: {other.label} ({other.location})",
                            f"second: {definition.label} ({definition.location})",
                            "fix: give one of them another name: @bean(name='...')",
                        ]
                    )
                )
            self.by_name[name] = definition

    def candidates(self, tp: Any) -> list[BeanDefinition]:
        found = self.by_type.get(tp)
        if found is not None:
            return found
        if getattr(tp, "_is_protocol", False):
            members = _protocol_members(tp)
            found = [d for d in self.definitions if all(hasattr(d.cls, m) for m in members)]
            self.by_type[tp] = found
            return found
        return []

    def select(self, tp: Any, candidates: list[BeanDefinition]) -> BeanDefinition | None:
        """The one bean for ``tp``: the only candidate, the primary one, or the exact class."""
        if len(candidates) == 1:
            return candidates[0]
        primary = [d for d in candidates if d.primary]
        if len(primary) == 1:
            return primary[0]
        exact = [d for d in candidates if d.cls is tp and not d.primary]
        if not primary and len(exact) == 1:
            return exact[0]
        return None


def ambiguous(tp: Any, candidates: list[BeanDefinition], needed_by: str) -> AmbiguousBeanError:
    listed = ", ".join(f"{d.label} ({d.location})" for d in candidates)
    return AmbiguousBeanError(
        describe(
            [
                f"{len(candidates)} beans provide {type_label(tp)} and none is primary",
                f"candidates: {listed}",
                f"needed by: {needed_by}",
                "fix: mark one @bean(primary=True), or ask for one by name: "
                f'Annotated[{type_label(tp)}, Named("...")]',
            ]
        )
    )


def not_found(what: str, needed_by: str, tp: Any) -> BeanNotFoundError:
    if isinstance(tp, type) and tp.__module__ == "builtins":
        fix = (
            f"fix: give it a default, or inject a config value: "
            f'Annotated[{type_label(tp)}, config_value("some.key")]'
        )
    elif isinstance(tp, type):
        fix = f"fix: decorate {type_label(tp)} with @bean, or bind it in config/beans.py"
    else:
        fix = "fix: declare a bean with that name, @bean(name=...) or alias=[...]"
    return BeanNotFoundError(describe([f"no bean provides {what}", f"needed by: {needed_by}", fix]))


_LIFE = {Scope.SINGLETON: 2, Scope.REQUEST: 1, Scope.PROTOTYPE: 1}


def check_graph(
    definitions: Sequence[BeanDefinition],
    plan: Callable[[BeanDefinition, list[Frame]], list[tuple[Dependency, Any]]],
) -> list[BeanDefinition]:
    """Walk every bean's dependencies; return the beans in dependency order (deps first).

    Raises:
        CircularDependencyError: constructors depend on each other in a cycle.
        ScopeWideningError: a singleton depends on a request or prototype bean.
    """
    order: list[BeanDefinition] = []
    done: set[int] = set()

    def visit(definition: BeanDefinition, frames: list[Frame], path: list[int]) -> None:
        if definition.index in done:
            return
        if definition.index in path:
            raise _cycle(frames, definition)
        path.append(definition.index)
        for dependency, target in plan(definition, frames):
            if not isinstance(target, BeanDefinition) or dependency.provider:
                continue
            frame = Frame(definition, dependency)
            if _LIFE[definition.scope] > _LIFE[target.scope]:
                raise _widening([*frames, frame], target)
            visit(target, [*frames, frame], path)
        path.pop()
        done.add(definition.index)
        order.append(definition)

    for definition in definitions:
        visit(definition, [], [])
    return order


def _cycle(frames: list[Frame], back_to: BeanDefinition) -> CircularDependencyError:
    start = next(i for i, f in enumerate(frames) if f.definition is back_to)
    loop = frames[start:]
    steps = " -> ".join(f"{f.definition.label}.__init__({f.dependency.name})" for f in loop)
    return CircularDependencyError(
        describe(
            [
                "beans depend on each other in a cycle",
                f"cycle: {steps} -> {back_to.label}",
                f"at: {back_to.location}",
                f"fix: inject Provider[{loop[-1].definition.label}] into "
                f"{back_to.label} and call it when needed, or move the shared part into "
                "a third bean",
            ]
        )
    )


def _widening(frames: list[Frame], target: BeanDefinition) -> ScopeWideningError:
    holder = frames[-1].definition
    return ScopeWideningError(
        describe(
            [
                f"{holder.scope.value} bean {holder.label} depends on {target.scope.value} "
                f"bean {target.label}",
                f"needed by: {_chain(frames)}",
                f"fix: inject Provider[{target.label}] and call it per use, or make "
                f"{holder.label} {target.scope.value}-scoped",
            ]
        )
    )


def needed_by(frames: Sequence[Frame]) -> str:
    return _chain(frames) if frames else "container.get()"
