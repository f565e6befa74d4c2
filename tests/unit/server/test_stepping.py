"""``resume``: finishing a hand-stepped coroutine the way a task would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from framework.server.stepping import resume

Work = Callable[["asyncio.Future[Any]", list[str]], Coroutine[Any, Any, None]]


def _run(work: Work, drive: Callable[[asyncio.Task[None], asyncio.Future[Any]], Any]) -> list[str]:
    """Step ``work(future, seen)`` once by hand, as a hot path does, hand the rest to
    ``resume`` in a task, let ``drive(task, future)`` act on both; return what work saw."""

    async def main() -> list[str]:
        seen: list[str] = []
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        coro = work(future, seen)
        task = asyncio.create_task(resume(coro, coro.send(None)))
        await drive(task, future)
        return seen

    return asyncio.run(main())


def test_resume_finishes_after_futures_and_bare_yields() -> None:
    async def work(future: asyncio.Future[Any], seen: list[str]) -> None:
        seen.append(await future)
        await asyncio.sleep(0)  # a bare yield
        later = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, later.set_result, "b")
        seen.append(await later)

    async def drive(task: asyncio.Task[None], future: asyncio.Future[Any]) -> None:
        future.set_result("a")
        await task

    assert _run(work, drive) == ["a", "b"]


def test_a_failing_future_raises_inside_the_coroutine() -> None:
    async def work(future: asyncio.Future[Any], seen: list[str]) -> None:
        try:
            await future
        except LookupError as exc:
            seen.append(f"handled {exc}")
            raise RuntimeError("passed on") from exc

    async def drive(task: asyncio.Task[None], future: asyncio.Future[Any]) -> None:
        future.set_exception(LookupError("gone"))
        with pytest.raises(RuntimeError, match="passed on"):
            await task

    assert _run(work, drive) == ["handled gone"]


def test_cancelling_throws_into_the_coroutine_and_cancels_its_future() -> None:
    async def work(future: asyncio.Future[Any], seen: list[str]) -> None:
        try:
            await future
        except asyncio.CancelledError:
            seen.append("cancelled inside")
            raise
        finally:
            seen.append("cleaned up")

    async def drive(task: asyncio.Task[None], future: asyncio.Future[Any]) -> None:
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert future.cancelled()

    assert _run(work, drive) == ["cancelled inside", "cleaned up"]


def test_a_coroutine_may_go_on_after_a_cancellation_as_a_task_may() -> None:
    async def work(future: asyncio.Future[Any], seen: list[str]) -> None:
        try:
            await future
        except asyncio.CancelledError:
            seen.append("ignored the cancel")
        await asyncio.sleep(0)
        seen.append("finished")

    async def drive(task: asyncio.Task[None], future: asyncio.Future[Any]) -> None:
        await asyncio.sleep(0.01)
        task.cancel()
        await task  # ends normally: the coroutine swallowed the cancellation

    assert _run(work, drive) == ["ignored the cancel", "finished"]
