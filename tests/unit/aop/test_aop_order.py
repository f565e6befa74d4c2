"""Advice order: around → before → target → around → after → after_returning/after_throwing."""

from __future__ import annotations

from typing import Any

import pytest

from framework import Application, bean
from framework.aop import (
    JoinPoint,
    ProceedingJoinPoint,
    after,
    after_returning,
    after_throwing,
    around,
    aspect,
    before,
    point_bean,
)


@bean
class Trace:
    """Collects what advices and targets saw; one per application."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def add(self, event: str) -> None:
        self.events.append(event)


@aspect
@point_bean(include=["Orders"])
class Recorder:
    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    @around
    def wrap(self, jp: ProceedingJoinPoint) -> Any:
        self.trace.add("around:before")
        result = jp.proceed()
        self.trace.add("around:after")
        return result

    @before
    def before_(self, jp: JoinPoint) -> None:
        self.trace.add(f"before{jp.args}")

    @after
    def after_(self, jp: JoinPoint) -> None:
        self.trace.add(f"after:{jp.return_value!r}:{jp.exception!r}")

    @after_returning
    def returning(self, jp: JoinPoint) -> None:
        self.trace.add(f"returning:{jp.return_value!r}")

    @after_throwing
    def throwing(self, jp: JoinPoint) -> None:
        self.trace.add(f"throwing:{jp.exception!r}")


@bean
class Orders:
    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def total(self, a: int, b: int) -> int:
        self.trace.add("target")
        return a + b

    def fail(self) -> None:
        self.trace.add("target")
        raise ValueError("no")


def test_sync_order_on_return() -> None:
    app = Application.from_classes(Recorder, Orders, Trace)
    assert app.container.get(Orders).total(1, 2) == 3
    assert app.container.get(Trace).events == [
        "around:before",
        "before(1, 2)",
        "target",
        "around:after",
        "after:3:None",
        "returning:3",
    ]


def test_sync_order_on_exception_and_exception_propagates() -> None:
    app = Application.from_classes(Recorder, Orders, Trace)
    with pytest.raises(ValueError, match="no"):
        app.container.get(Orders).fail()
    assert app.container.get(Trace).events == [
        "around:before",
        "before()",
        "target",
        "after:None:ValueError('no')",
        "throwing:ValueError('no')",
    ]


@aspect
@point_bean(include=["AsyncOrders"])
class AsyncRecorder:
    """Async around, and a mix of sync and async other advices."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    @around
    async def wrap(self, jp: ProceedingJoinPoint) -> Any:
        self.trace.add("around:before")
        result = await jp.proceed()
        self.trace.add("around:after")
        return result

    @before
    async def before_(self, jp: JoinPoint) -> None:
        self.trace.add(f"before{jp.args}")

    @after
    def after_(self, jp: JoinPoint) -> None:
        self.trace.add(f"after:{jp.return_value!r}:{jp.exception!r}")

    @after_returning
    async def returning(self, jp: JoinPoint) -> None:
        self.trace.add(f"returning:{jp.return_value!r}")

    @after_throwing
    async def throwing(self, jp: JoinPoint) -> None:
        self.trace.add(f"throwing:{jp.exception!r}")


@bean
class AsyncOrders:
    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    async def total(self, a: int, b: int) -> int:
        self.trace.add("target")
        return a + b

    async def fail(self) -> None:
        self.trace.add("target")
        raise ValueError("no")


async def test_async_order_on_return() -> None:
    app = Application.from_classes(AsyncRecorder, AsyncOrders, Trace)
    assert await app.container.get(AsyncOrders).total(1, b=2) == 3
    assert app.container.get(Trace).events == [
        "around:before",
        "before(1,)",
        "target",
        "around:after",
        "after:3:None",
        "returning:3",
    ]


async def test_async_order_on_exception() -> None:
    app = Application.from_classes(AsyncRecorder, AsyncOrders, Trace)
    with pytest.raises(ValueError, match="no"):
        await app.container.get(AsyncOrders).fail()
    assert app.container.get(Trace).events == [
        "around:before",
        "before()",
        "target",
        "after:None:ValueError('no')",
        "throwing:ValueError('no')",
    ]


def _layer(name: str, order: int) -> type:
    """An aspect logging ``<name>:<advice>`` around every method of ``Layered``."""

    class Layer:
        def __init__(self, trace: Trace) -> None:
            self.trace = trace

        @around
        def wrap(self, jp: ProceedingJoinPoint) -> Any:
            self.trace.add(f"{name}:around:before")
            result = jp.proceed()
            self.trace.add(f"{name}:around:after")
            return result

        @before
        def before_(self, jp: JoinPoint) -> None:
            self.trace.add(f"{name}:before")

        @after
        def after_(self, jp: JoinPoint) -> None:
            self.trace.add(f"{name}:after")

        @after_returning
        def returning(self, jp: JoinPoint) -> None:
            self.trace.add(f"{name}:returning:{jp.return_value}")

    Layer.__name__ = Layer.__qualname__ = f"Layer{name}"
    return aspect(order=order)(point_bean(include="Layered")(Layer))


@bean
class Layered:
    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def run(self) -> str:
        self.trace.add("target")
        return "ok"


def test_lower_order_is_outermost_whatever_the_scan_order() -> None:
    inner, outer = _layer("inner", order=5), _layer("outer", order=-1)
    app = Application.from_classes(inner, Layered, outer, Trace)
    assert app.container.get(Layered).run() == "ok"
    assert app.container.get(Trace).events == [
        "outer:around:before",
        "outer:before",
        "inner:around:before",
        "inner:before",
        "target",
        "inner:around:after",
        "inner:after",
        "inner:returning:ok",
        "outer:around:after",
        "outer:after",
        "outer:returning:ok",
    ]


def test_equal_orders_keep_scan_order() -> None:
    first, second = _layer("first", order=0), _layer("second", order=0)
    app = Application.from_classes(first, second, Layered, Trace)
    app.container.get(Layered).run()
    events = app.container.get(Trace).events
    assert events[:2] == ["first:around:before", "first:before"]


@aspect
@point_bean(include="Nested")
class TwoArounds:
    """Two around advices of one aspect nest in definition order, befores run inside both."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    @around
    def first(self, jp: ProceedingJoinPoint) -> Any:
        self.trace.add("first:before")
        result = jp.proceed()
        self.trace.add("first:after")
        return result

    @around
    def second(self, jp: ProceedingJoinPoint) -> Any:
        self.trace.add("second:before")
        result = jp.proceed()
        self.trace.add("second:after")
        return result

    @before
    def before_(self, jp: JoinPoint) -> None:
        self.trace.add("before")


@bean
class Nested:
    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def run(self) -> None:
        self.trace.add("target")


def test_several_arounds_of_one_aspect_nest_in_definition_order() -> None:
    app = Application.from_classes(TwoArounds, Nested, Trace)
    app.container.get(Nested).run()
    assert app.container.get(Trace).events == [
        "first:before",
        "second:before",
        "before",
        "target",
        "second:after",
        "first:after",
    ]
