"""Small helpers for tests that talk to a WebSocket server with the json parser.

They work with any client whose connection has async ``send(str)`` and ``recv()`` (the
``websockets`` library's asyncio client, for instance). Each waits at most five seconds.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

__all__ = ["call", "nothing_arrives", "recv"]

WAIT = 5.0


async def call(ws: Any, cmd: str, data: Any = None) -> Any:
    """Send ``cmd`` with ``data`` (request id = ``cmd``) and return the reply's ``data``;
    messages that are not the reply are skipped.

    Raises:
        TimeoutError: no reply within :data:`WAIT` seconds.
    """
    await ws.send(json.dumps({"cmd": cmd, "data": data, "ext": {"id": cmd}}))
    with anyio.fail_after(WAIT):
        while True:
            reply = json.loads(await ws.recv())
            if reply.get("ext") == {"id": cmd}:
                return reply.get("data")


async def recv(ws: Any) -> Any:
    """The next frame (``TimeoutError`` after :data:`WAIT` seconds)."""
    with anyio.fail_after(WAIT):
        return await ws.recv()


async def nothing_arrives(ws: Any) -> bool:
    """Whether no frame arrives for 0.2 seconds."""
    with anyio.move_on_after(0.2):
        await ws.recv()
        return False
    return True
