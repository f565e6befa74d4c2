"""The seam every concept plugs into: an :class:`Extension` is a boot step.

Boot runs: scan → ``Extension.scanned`` (validate marks, add beans, add post-processors) →
build the container → ``Extension.built`` (compile tables from the built beans) → freeze →
(async) ``startup``; and ``shutdown`` in reverse order. HTTP, WebSocket, TCP, RPC, AOP and
events are all extensions; a user's own decorator + extension pair works the same way
(docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from framework import marks
from framework.container.definitions import BeanDefinition

if TYPE_CHECKING:
    from framework.application import Application
    from framework.config import Config
    from framework.container.container import Container

__all__ = ["BeanPostProcessor", "Extension", "ScanContext", "ScanResult"]

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What the scanner found: every class and function defined in the scanned modules."""

    modules: tuple[str, ...] = ()
    classes: tuple[type, ...] = ()
    functions: tuple[Callable[..., Any], ...] = ()

    def classes_with(self, kind: type[M]) -> list[tuple[type, M]]:
        """``(class, mark)`` for every scanned class carrying a mark of type ``kind``."""
        return [(cls, mark) for cls in self.classes for mark in marks.find(cls, kind)]

    def functions_with(self, kind: type[M]) -> list[tuple[Callable[..., Any], M]]:
        """``(function, mark)`` for every module-level function carrying a ``kind`` mark."""
        return [(fn, mark) for fn in self.functions for mark in marks.find(fn, kind)]

    def members_with(self, kind: type[M]) -> list[tuple[marks.MarkedMember, M]]:
        """``(member, mark)`` for every method of a scanned class carrying a ``kind`` mark."""
        return [
            (member, mark)
            for cls in self.classes
            for member in marks.marked_members(cls)
            for mark in member.find(kind)
        ]


class BeanPostProcessor(Protocol):
    """Decides once per bean, at boot, what to do to each new instance of it (AOP weaving)."""

    def for_bean(
        self, definition: BeanDefinition, container: Container
    ) -> Callable[[Any], Any] | None:
        """Return a function applied to every new instance (it returns the object to use),
        or ``None`` when this bean needs nothing, so its construction stays plain."""
        ...


@dataclass(slots=True)
class ScanContext:
    """What an extension sees between the scan and the build."""

    scan: ScanResult
    config: Config
    definitions: list[BeanDefinition]
    post_processors: list[BeanPostProcessor] = field(default_factory=list)

    def add_bean(self, definition: BeanDefinition) -> BeanDefinition:
        """Add a bean that no decorator declared (a framework service, a generated client)."""
        self.definitions.append(definition)
        return definition

    def add_post_processor(self, processor: BeanPostProcessor) -> None:
        self.post_processors.append(processor)

    def bean_classes_with(self, kind: type[M]) -> Iterator[tuple[BeanDefinition, M]]:
        """``(definition, mark)`` for every bean whose class carries a ``kind`` mark."""
        for definition in self.definitions:
            for mark in definition.marks:
                if isinstance(mark, kind):
                    yield definition, mark


class Extension:
    """A boot step. Subclass it and override the hooks you need; all default to doing nothing.

    Extensions are instantiated per :class:`~framework.Application`, so they may keep state
    (compiled tables) on ``self``; ``app.extension(MyExtension)`` returns the instance.
    """

    def scanned(self, ctx: ScanContext) -> None:
        """After the scan, before the build: validate marks, add beans and post-processors."""

    def built(self, app: Application) -> None:
        """After the container is built and woven: compile tables; then the app is frozen."""

    async def startup(self, app: Application) -> None:
        """When the application starts serving (in each worker), after singleton startup."""

    async def shutdown(self, app: Application) -> None:
        """When the application stops, before singleton teardown; runs in reverse order."""
