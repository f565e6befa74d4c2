"""A thin ASGI wrapper in each worker: counts requests and, while draining, closes keep-alive.

Draining is what makes a rolling reload lose no request. Once the old worker stops
accepting, every HTTP/1.x response it still sends carries ``Connection: close``, so a client
on a keep-alive connection opens its next request on a new connection, which a new worker
accepts. The worker lets the engine stop only after a quiet moment with nothing in flight.
"""

from __future__ import annotations

import time
from typing import Any

from framework.server.engine import entry_of
from framework.server.typing import AnyASGIApp

__all__ = ["Meter"]

_CLOSE = (b"connection", b"close")


class Meter:
    """Wraps an ASGI app; read its counters from the same event loop."""

    def __init__(self, app: AnyASGIApp) -> None:
        self._call = entry_of(app)  # the app's swoop_entry or bound __call__: cheaper calls
        self.requests = 0
        self.inflight = 0
        self.draining = False
        self.last_activity = time.monotonic()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._call(scope, receive, send)
            return
        self.requests += 1
        self.inflight += 1
        # last_activity is stamped when a request ends only: while one is in flight,
        # quiet_for() is 0 whatever the stamp says, and an end is always later than its start
        try:
            if self.draining and kind == "http" and scope.get("http_version") in ("1.0", "1.1"):
                send = _closing(send)
            await self._call(scope, receive, send)
        finally:
            self.inflight -= 1
            self.last_activity = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the last request ended (0 while one is in flight)."""
        if self.inflight:
            return 0.0
        return time.monotonic() - self.last_activity


def _closing(send: Any) -> Any:
    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"connection"]
            headers.append(_CLOSE)
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
