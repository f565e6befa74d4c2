"""Collects ``@listener`` marks at boot and fills the application's ``EventManager``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from framework import marks
from framework.container.definitions import BeanDefinition, location_of
from framework.container.extension import Extension, ScanContext
from framework.container.marks import Scope
from framework.errors import BootError, describe
from framework.events.lifecycle import APP_BOOT_BEFORE
from framework.events.manager import Event, EventManager, Listener
from framework.events.marks import ListenerMark

if TYPE_CHECKING:
    from framework.application import Application

__all__ = ["EventsExtension", "ListenerError"]


class ListenerError(BootError):
    """A ``@listener`` class has no ``handle`` method."""


class EventsExtension(Extension):
    """Builds the :class:`EventManager` bean and registers every listener in it."""

    def __init__(self) -> None:
        self.manager = EventManager()
        self._beans: list[tuple[BeanDefinition, str, ListenerMark]] = []

    def scanned(self, ctx: ScanContext) -> None:
        ctx.add_bean(
            BeanDefinition("event_manager", EventManager, instance=self.manager, has_instance=True)
        )
        order = 0
        for fn, mark in ctx.scan.functions_with(ListenerMark):
            order += 1
            self.manager.add(_listener(mark, _constant(fn), fn, order))
        for definition in ctx.definitions:
            for mark in marks.find(definition.cls, ListenerMark):
                if not callable(getattr(definition.cls, "handle", None)):
                    raise ListenerError(
                        describe(
                            [
                                f"listener class {definition.label} has no handle() method",
                                f"at: {definition.location}",
                                "fix: add `def handle(self, event: Event) -> None`",
                            ]
                        )
                    )
                self._beans.append((definition, "handle", mark))
            for member in marks.marked_members(definition.cls):
                for mark in member.find(ListenerMark):
                    self._beans.append((definition, member.name, mark))
        boot = Event(APP_BOOT_BEFORE, None)
        for item in self.manager.listeners_for(APP_BOOT_BEFORE):
            item.resolve()(boot)

    def built(self, app: Application) -> None:
        order = len(self.manager)
        for definition, attr, mark in self._beans:
            order += 1
            function = getattr(definition.cls, attr)
            getter = app.container.getter(definition.name)
            if definition.scope is Scope.SINGLETON:
                resolve = _constant(getattr(getter(), attr))
            else:
                resolve = _bound(getter, attr)
            self.manager.add(_listener(mark, resolve, function, order))


def _constant(fn: Callable[..., Any]) -> Callable[[], Callable[..., Any]]:
    return lambda: fn


def _bound(getter: Callable[[], Any], attr: str) -> Callable[[], Callable[..., Any]]:
    return lambda: getattr(getter(), attr)


def _listener(
    mark: ListenerMark, resolve: Callable[[], Any], function: Any, order: int
) -> Listener:
    label = f"{getattr(function, '__qualname__', function)} ({location_of(function)})"
    is_async = inspect.iscoroutinefunction(function)
    return Listener(mark.event, mark.priority, resolve, is_async, label, order)
