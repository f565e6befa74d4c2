"""Newline-delimited JSON: the wire format between master, workers and ``appctl`` (sans-IO).

Every message is one JSON object on one line. The master and a worker talk over a Unix
socketpair the worker inherits; ``appctl`` talks to the master over ``runtime/<server>.sock``.

Worker -> master: ``{"type": "ready"}``, ``{"type": "stats", "requests": n, "inflight": n}``
(a ws worker adds ``"bus": {...}``, a gateway of a split ws server ``"gateway": {...}``),
``{"type": "error", "message": "..."}`` (boot failed; the worker exits next),
``{"type": "draining"}`` (it stopped accepting new connections).
Master -> worker: ``{"type": "boot", "slot": n}`` (a standby worker boots the app now),
``{"type": "drain", "patient": true}`` (stop accepting, wait until the open connections
closed, exit; SIGTERM drains without waiting for idle connections).
appctl -> master: ``{"cmd": "status" | "reload" | "stop", ...}``; the master answers with
one object, ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from framework.errors import FrameworkError

__all__ = ["MAX_LINE", "LineDecoder", "ProtocolError", "encode"]

#: The longest line accepted; a status answer with hundreds of workers stays far below it.
MAX_LINE = 1024 * 1024

Message = dict[str, Any]


class ProtocolError(FrameworkError):
    """Bytes that are not a newline-delimited JSON object, or a line longer than MAX_LINE."""


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as a line of compact JSON ending in ``\\n``."""
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


class LineDecoder:
    """Feed it bytes as they arrive; it returns the complete messages they finish."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        """Parse every complete line in the data received so far.

        Raises:
            ProtocolError: a line is not a JSON object, or a line grows past MAX_LINE.
        """
        self._buffer += data
        messages: list[Message] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if line.strip():
                messages.append(decode(line))
        if len(self._buffer) > MAX_LINE:
            raise ProtocolError(f"message longer than {MAX_LINE} bytes without a newline")
        return messages


def decode(line: bytes) -> Message:
    """One line (without its newline) as a message.

    Raises:
        ProtocolError: not valid UTF-8 JSON, or not an object.
    """
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a JSON line: {line[:80]!r}") from exc
    if not isinstance(value, dict):
        raise ProtocolError(f"expected a JSON object, got {type(value).__name__}")
    return value
