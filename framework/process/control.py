"""The control socket, ``runtime/<server>.sock``: ``appctl`` asks the running master.

One request per connection: the client sends one JSON line (``{"cmd": "status"}``,
``{"cmd": "reload"}``, ``{"cmd": "stop", "timeout": 10}``) and reads one JSON line back.
The socket file is created with mode 0600: only the user running the server may control it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from framework.errors import describe
from framework.process import protocol
from framework.process.errors import ControlError
from framework.process.runtime import unix_address

__all__ = ["ControlServer", "request"]

log = logging.getLogger("swoop.master")

Handler = Callable[[protocol.Message], Awaitable[protocol.Message]]


class ControlServer:
    """Serves control requests with ``handler`` until :meth:`aclose`."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)  # left by a master that was killed; we own the lock
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, unix_address(self.path), limit=protocol.MAX_LINE
            )
        finally:
            os.umask(old)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            try:
                reply = await self._handler(protocol.decode(line.rstrip(b"\n")))
            except protocol.ProtocolError as exc:
                reply = {"ok": False, "error": str(exc)}
            writer.write(protocol.encode(reply))
            await writer.drain()
        except (OSError, ValueError) as exc:  # ValueError: a line over the limit
            log.warning("control request failed: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def request(path: Path, message: dict[str, Any], *, timeout: float) -> protocol.Message:
    """Send one request to the master listening on ``path`` and return its answer.

    Raises:
        ControlError: nothing listens there, or no answer came within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(unix_address(path))
            sock.sendall(protocol.encode(message))
            decoder = protocol.LineDecoder()
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                replies = decoder.feed(chunk)
                if replies:
                    return replies[0]
    except (OSError, protocol.ProtocolError) as exc:
        raise ControlError(
            describe(
                [
                    f"the master did not answer on {path}: {exc}",
                    "fix: check the server log; if the master hangs, stop it with kill",
                ]
            )
        ) from exc
    raise ControlError(f"the master closed {path} without answering")
