"""``resume``: finishing a hand-stepped coroutine the way a task would."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from framework.server.stepping import resume


def _first_step(coro: Coroutine[Any, Any, Any]) -> Any:
    """What a hot path does: one step by hand; the coroutine suspends on what it yields."""
    return coro.send(None)


def test_resume_finishes_after_futures_and_bare_yields() -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        loop = asyncio.get_running_loop()
        first, second = loop.create_future(), loop.create_future()

        async def work() -> None:
            seen.append(await first)
            await asyncio.sleep(0)  # a bare yield
            seen.append(await second)

        coro = work()
        task = asyncio.create_task(resume(coro, _first_step(coro)))
        loop.call_soon(first.set_result, "a")
        loop.call_later(0.01, second.set_result, "b")
        await task
        return seen

    assert asyncio.run(main()) == ["a", "b"]


def test_a_failing_future_raises_inside_the_coroutine() -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        async def work() -> None:
            try:
                await future
            except LookupError as exc:
                seen.append(f"handled {exc}")
                raise RuntimeError("passed on") from exc

        coro = work()
        yielded = _first_step(coro)
        future.set_exception(LookupError("gone"))
        with pytest.raises(RuntimeError, match="passed on"):
            await resume(coro, yielded)
        return seen

    assert asyncio.run(main()) == ["handled gone"]


def test_cancelling_throws_into_the_coroutine_and_cancels_its_future() -> None:
    async def main() -> tuple[list[str], Any]:
        seen: list[str] = []
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        async def work() -> None:
            try:
                await future
            except asyncio.CancelledError:
                seen.append("cancelled inside")
                raise
            finally:
                seen.append("cleaned up")

        coro = work()
        task = asyncio.create_task(resume(coro, _first_step(coro)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen, future

    seen, future = asyncio.run(main())
    assert seen == ["cancelled inside", "cleaned up"]
    assert future.cancelled()


def test_a_coroutine_may_go_on_after_a_cancellation_as_a_task_may() -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        async def work() -> None:
            try:
                await future
            except asyncio.CancelledError:
                seen.append("ignored the cancel")
            await asyncio.sleep(0)
            seen.append("finished")

        coro = work()
        task = asyncio.create_task(resume(coro, _first_step(coro)))
        await asyncio.sleep(0.01)
        task.cancel()
        await task  # ends normally: the coroutine swallowed the cancellation
        return seen

    assert asyncio.run(main()) == ["ignored the cancel", "finished"]
