"""Async methods: awaited arounds, mixed sync/async advices, nesting, retries, short-circuits."""

from __future__ import annotations

from typing import Any

import anyio.lowlevel

from framework import Application, bean
from framework.aop import (
    JoinPoint,
    ProceedingJoinPoint,
    after_returning,
    around,
    aspect,
    before,
    point_bean,
)


@bean
class Trace:
    def __init__(self) -> None:
        self.events: list[str] = []


@aspect(order=1)
@point_bean("Remote")
class Outer:
    """Only one around advice: the fast path. Doubles the argument, short-circuits on 0."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    @around
    async def wrap(self, jp: ProceedingJoinPoint) -> Any:
        (value,) = jp.args
        if value == 0:
            return "cached"
        self.trace.events.append(f"outer({value})")
        return await jp.proceed(value * 2)


@aspect(order=2)
@point_bean("Remote")
class Inner:
    """The general path: retries once, with a sync before and an async after_returning."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    @around
    async def retry(self, jp: ProceedingJoinPoint) -> Any:
        try:
            return await jp.proceed()
        except ConnectionError:
            self.trace.events.append("retry")
            return await jp.proceed()

    @before
    def before_(self, jp: JoinPoint) -> None:
        self.trace.events.append(f"inner-before{jp.args}")

    @after_returning
    async def returned(self, jp: JoinPoint) -> None:
        self.trace.events.append(f"inner-returned:{jp.return_value}")


@bean
class Remote:
    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.failures = 1

    async def fetch(self, value: int) -> int:
        self.trace.events.append(f"fetch({value})")
        await anyio.lowlevel.checkpoint()  # let concurrent calls interleave
        if self.failures:
            self.failures -= 1
            raise ConnectionError
        return value + 1


async def test_nested_async_aspects_with_retry_and_replaced_arguments() -> None:
    app = Application.from_classes(Inner, Outer, Remote, Trace)
    assert await app.container.get(Remote).fetch(5) == 11
    assert app.container.get(Trace).events == [
        "outer(5)",
        "inner-before(10,)",
        "fetch(10)",
        "retry",
        "inner-before(10,)",
        "fetch(10)",
        "inner-returned:11",
    ]


async def test_async_around_short_circuit_skips_inner_aspects_and_target() -> None:
    app = Application.from_classes(Inner, Outer, Remote, Trace)
    assert await app.container.get(Remote).fetch(0) == "cached"
    assert app.container.get(Trace).events == []


async def test_concurrent_calls_get_their_own_join_points() -> None:
    app = Application.from_classes(Inner, Outer, Remote, Trace)
    remote = app.container.get(Remote)
    remote.failures = 0
    results: dict[int, int] = {}

    async def call(value: int) -> None:
        results[value] = await remote.fetch(value)

    async with anyio.create_task_group() as group:
        for value in range(1, 6):
            group.start_soon(call, value)
    assert results == {v: v * 2 + 1 for v in range(1, 6)}
