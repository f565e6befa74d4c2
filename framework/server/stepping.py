"""Finishing a coroutine that was stepped by hand.

The hot paths step a coroutine with ``coro.send(None)`` instead of making a task for it (the
hypercorn driver's protocol handler, a WebSocket send): most finish in that one step. Those
that suspend hand :func:`resume` what they yielded, and it carries on as a task would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

__all__ = ["resume"]


async def resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
    """Finish ``coro``, suspended on ``yielded`` (a future, or ``None`` for a bare yield such
    as ``asyncio.sleep(0)``), as a task would: wait for that future, then step the coroutine
    again (it reads the outcome itself). A cancellation cancels the future and is thrown into
    the coroutine where it waits, as a task's is; the coroutine may clean up, or even go on.

    ``asyncio.wait`` rather than ``await yielded``: the coroutine's own ``await`` marked the
    future as awaited (``_asyncio_future_blocking``, which a task resets before waiting), so
    awaiting it a second time raises "await wasn't used with future".
    """
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                await asyncio.wait((yielded,))
        except BaseException as exc:
            if yielded is not None:
                yielded.cancel()
            try:
                yielded = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            yielded = coro.send(None)
        except StopIteration:
            return
