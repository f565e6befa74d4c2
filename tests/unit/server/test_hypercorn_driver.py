"""The hypercorn driver's small parts: the app queue and event that replace asyncio's, and the
import-time check of Hypercorn's internals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from framework.server import EngineUnavailableError, hypercorn_driver
from framework.server.hypercorn_driver import _AppQueue, _Event

pytestmark = pytest.mark.anyio


def message(n: int) -> Any:
    return {"type": "http.request", "body": b"%d" % n, "more_body": True}


async def test_queue_is_fifo_and_frees_its_list_when_empty() -> None:
    queue = _AppQueue(10)
    for n in range(3):
        await queue.put(message(n))
    assert [await queue.get() for _ in range(3)] == [message(n) for n in range(3)]
    assert queue._items is None


async def test_put_waits_while_the_queue_is_full() -> None:
    queue = _AppQueue(2)
    await queue.put(message(0))
    await queue.put(message(1))
    third = asyncio.create_task(queue.put(message(2)))
    await asyncio.sleep(0.01)
    assert not third.done()
    assert await queue.get() == message(0)
    await asyncio.wait_for(third, 1)
    assert [await queue.get(), await queue.get()] == [message(1), message(2)]


async def test_get_waits_for_a_message() -> None:
    queue = _AppQueue(10)
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    assert not getter.done()
    await queue.put(message(7))
    assert await asyncio.wait_for(getter, 1) == message(7)


async def test_a_cancelled_getter_loses_no_message() -> None:
    queue = _AppQueue(10)
    first, second = asyncio.create_task(queue.get()), asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    await queue.put(message(1))  # wakes the first getter...
    first.cancel()  # ...which is cancelled before it runs: the second gets the message
    assert await asyncio.wait_for(second, 1) == message(1)
    assert first.cancelled()


async def test_a_cancelled_putter_does_not_block_the_next() -> None:
    queue = _AppQueue(1)
    await queue.put(message(0))
    first = asyncio.create_task(queue.put(message(1)))
    second = asyncio.create_task(queue.put(message(2)))
    await asyncio.sleep(0.01)
    assert await queue.get() == message(0)  # wakes the first putter...
    first.cancel()  # ...cancelled before it runs: the second puts instead
    await asyncio.wait_for(second, 1)
    assert await queue.get() == message(2)


async def test_a_closed_queue_releases_and_drops_puts() -> None:
    queue = _AppQueue(1)
    await queue.put(message(0))
    waiting = asyncio.create_task(queue.put(message(1)))
    await asyncio.sleep(0.01)
    queue.close()  # the app returned: the stream must not wait for it
    await asyncio.wait_for(waiting, 1)
    await queue.put(message(2))
    assert queue._items is None


async def test_event_wakes_every_waiter_and_can_be_cleared() -> None:
    event = _Event()
    waiters = [asyncio.create_task(event.wait()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in waiters) and not event.is_set()
    await event.set()
    await asyncio.wait_for(asyncio.gather(*waiters), 1)
    assert event.is_set()
    await event.wait()  # set: returns at once
    await event.clear()
    again = asyncio.create_task(event.wait())
    await asyncio.sleep(0.01)
    assert not again.done()
    again.cancel()
    await asyncio.gather(again, return_exceptions=True)
    assert not event._waiters


def test_changed_hypercorn_internals_fail_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    class ProtocolWrapper:  # a Hypercorn whose wrapper takes other arguments
        def __init__(self, app: Any, config: Any, *, tls: bool) -> None:
            pass

        async def initiate(self) -> None:
            pass

        async def handle(self, event: Any) -> None:
            pass

    monkeypatch.setattr(hypercorn_driver, "ProtocolWrapper", ProtocolWrapper)
    with pytest.raises(EngineUnavailableError, match=r"ProtocolWrapper.__init__\(self, app"):
        hypercorn_driver._check_internals()


def test_current_hypercorn_passes_the_check() -> None:
    hypercorn_driver._check_internals()
