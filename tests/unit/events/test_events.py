"""Listeners: classes, bean methods and functions, priorities, async, lifecycle events."""

from __future__ import annotations

import pytest

from framework import Application, Event, EventManager, bean, listener
from framework.events import APP_BOOT_AFTER, APP_BOOT_BEFORE, APP_SHUTDOWN, APP_STARTUP, EventError
from framework.events.extension import ListenerError

seen: list[str] = []


@listener("user.created", priority=1)
class Low:
    def handle(self, event: Event) -> None:
        seen.append(f"low:{event.payload}")


@listener("user.*", priority=5)
class High:
    def handle(self, event: Event) -> None:
        seen.append(f"high:{event.payload}")


@bean
class Mailer:
    def __init__(self, events: EventManager) -> None:
        self.events = events

    @listener("user.created", priority=3)
    def on_created(self, event: Event) -> None:
        seen.append(f"mail:{event.payload}")


@listener(APP_BOOT_BEFORE)
def on_boot_before(event: Event) -> None:
    seen.append(event.name)


@listener(APP_BOOT_AFTER)
def on_boot_after(event: Event) -> None:
    seen.append(event.name)


def test_listeners_run_by_priority_with_globs() -> None:
    seen.clear()
    app = Application.from_classes(Low, High, Mailer, on_boot_before, on_boot_after)
    assert seen == [APP_BOOT_BEFORE, APP_BOOT_AFTER]
    seen.clear()
    app.container.get(Mailer).events.emit("user.created", "ada")
    assert seen == ["high:ada", "mail:ada", "low:ada"]
    seen.clear()
    app.events.emit("user.deleted", "bob")
    assert seen == ["high:bob"]


def test_a_listener_can_stop_propagation() -> None:
    @listener("order.paid", priority=9)
    class Gate:
        def handle(self, event: Event) -> None:
            event.stop()

    seen.clear()
    app = Application.from_classes(Gate, Low)
    assert app.events.emit("order.paid").stopped
    assert seen == []


async def test_async_listeners_need_aemit_and_lifecycle_events_fire() -> None:
    log: list[str] = []

    @listener("tick")
    class Ticker:
        async def handle(self, event: Event) -> None:
            log.append(f"tick:{event.payload}")

    @listener(APP_STARTUP)
    async def started(event: Event) -> None:
        log.append("startup")

    @listener(APP_SHUTDOWN)
    def stopping(event: Event) -> None:
        log.append("shutdown")

    app = Application.from_classes(Ticker, started, stopping)
    with pytest.raises(EventError) as info:
        app.events.emit("tick", 1)
    assert str(info.value).splitlines()[1] == "  fix: emit it with `await events.aemit(...)`"
    async with app:
        await app.events.aemit("tick", 2)
    assert log == ["startup", "tick:2", "shutdown"]


def test_listener_class_without_handle_is_a_boot_error() -> None:
    @listener("x")
    class Deaf:
        pass

    with pytest.raises(ListenerError) as info:
        Application.from_classes(Deaf)
    assert (
        str(info.value).splitlines()[0]
        == f"listener class {Deaf.__qualname__} has no handle() method"
    )


def test_request_scoped_listener_resolves_per_emit() -> None:
    @bean(scope="request")
    class Collector:
        def __init__(self) -> None:
            self.items: list[str] = []

        @listener("item")
        def collect(self, event: Event) -> None:
            self.items.append(event.payload)

    app = Application.from_classes(Collector)
    with app.request_scope():
        app.events.emit("item", "a")
        app.events.emit("item", "b")
        assert app.container.get(Collector).items == ["a", "b"]
    with app.request_scope():
        app.events.emit("item", "c")
        assert app.container.get(Collector).items == ["c"]
