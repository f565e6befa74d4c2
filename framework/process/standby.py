"""A standby worker: an interpreter that imported the framework and waits for a slot.

The master keeps one (``server.standby``) so that a reload or a respawn only has to import
and boot the app; it never imports the app before it is activated, so it loads the code
on disk at that moment.
"""

from __future__ import annotations

import contextlib
import importlib
import socket

from framework.process import protocol

__all__ = ["stand_by"]


def stand_by(engine: str, channel: socket.socket) -> int | None:
    """Import what every worker imports, then wait until the master hands us a slot.

    Returns the slot, or ``None`` when the master closed the channel instead.

    A reload or a respawn then only has to import and boot the app: the interpreter start
    and the framework's imports (most of a worker's start-up) are already done.
    """
    engine_module = "uvicorn_engine" if engine == "uvicorn" else "hypercorn_engine"
    for name in (
        "anyio",
        "framework.application",
        "framework.config",
        "framework.events.lifecycle",
        "framework.http",
        "framework.process.boot",
        "framework.process.meter",
        f"framework.server.{engine_module}",
    ):
        with contextlib.suppress(Exception):  # a real problem shows when the app boots
            importlib.import_module(name)
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = channel.recv(1)  # one byte at a time: nothing after the line is ours to take
        if not byte:
            return None
        line += byte
    try:
        return int(protocol.decode(bytes(line[:-1]))["slot"])
    except (protocol.ProtocolError, KeyError, TypeError, ValueError):
        return None
