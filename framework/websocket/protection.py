"""Protection of a worker against clients: heartbeat, origin check, rate limit.

The heartbeat is application-level, the same on every engine: the engines answer protocol
pings but never report pongs to the application, and Hypercorn never sends pings (the
``uvicorn`` engine turns Uvicorn's protocol keepalive off for the same reason). One sweeper
task per worker (not one timer per connection, nothing per idle connection) looks at every
connection each tick:

- quiet for ``ws.ping_interval`` seconds (no message from the client) -> the parser's ping
  frame is pushed (``{"cmd":"ping"}`` for json, ``ping:`` for token; ``client.js`` answers
  ``{"cmd":"pong"}``; raw modules send none); any message from the client counts as an
  answer;
- ``ws.ping_max_missed`` pings unanswered, or quiet for ``ws.idle_timeout`` seconds -> closed
  with 1011 ``heartbeat timeout`` (the code the ``websockets`` library uses for a keepalive
  timeout).
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import re
from collections.abc import Iterable

from framework.websocket.connection import CloseCode, Connection
from framework.websocket.registry import Registry

__all__ = ["Heartbeat", "OriginPolicy", "take_token"]

log = logging.getLogger("swoop.websocket")


class OriginPolicy:
    """The ``ws.allowed_origins`` allow-list: ``fnmatch`` patterns such as
    ``https://*.example.com``; empty allows every origin. A handshake without an ``Origin``
    header (a non-browser client) is allowed: browsers always send one."""

    __slots__ = ("_regex",)

    def __init__(self, patterns: Iterable[str]) -> None:
        found = [fnmatch.translate(p.rstrip("/").lower()) for p in patterns]
        self._regex = re.compile("|".join(found)) if found else None

    def allows(self, origin: str | None) -> bool:
        if self._regex is None or origin is None:
            return True
        return self._regex.fullmatch(origin.rstrip("/").lower()) is not None


def take_token(conn: Connection, now: float, rate: float, burst: float) -> bool:
    """Token bucket of one connection: ``rate`` messages per second, bursts of ``burst``."""
    tokens = conn.rate_tokens + (now - conn.rate_stamp) * rate
    conn.rate_stamp = now
    if tokens > burst:
        tokens = burst
    if tokens < 1.0:
        conn.rate_tokens = tokens
        return False
    conn.rate_tokens = tokens - 1.0
    return True


class Heartbeat:
    """The sweeper of one worker; runs while there are connections (see the module docs)."""

    def __init__(
        self,
        registry: Registry,
        *,
        interval: float,
        max_missed: int,
        idle_timeout: float,
        close_timeout: float,
    ) -> None:
        self.registry = registry
        self.interval = interval
        self.max_missed = max_missed
        self.idle_timeout = idle_timeout
        self.close_timeout = close_timeout
        periods = [p for p in (interval, idle_timeout) if p > 0]
        self.tick = min(1.0, max(0.02, min(periods) / 4)) if periods else 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.tick > 0

    def ensure_running(self) -> None:
        """Start the sweeper if it is enabled and not running (called on each accept)."""
        if self.tick and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait((task,))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.registry.clients:
                await asyncio.sleep(self.tick)
                self.sweep(loop.time())
        finally:
            self._task = None

    def sweep(self, now: float) -> None:
        """Ping quiet connections and close the ones that stopped answering."""
        interval, idle = self.interval, self.idle_timeout
        for conn in list(self.registry.clients.values()):
            if not conn.is_open:
                continue
            quiet = now - conn.last_seen
            if idle and quiet >= idle:
                self._expire(conn)
                continue
            if not interval or quiet < interval * (conn.missed_pings + 1):
                continue
            ping = getattr(conn.parser, "ping", None)
            frame = ping() if ping is not None else None
            if frame is None:
                continue
            if conn.missed_pings >= self.max_missed:
                self._expire(conn)
                continue
            conn.missed_pings += 1
            conn.push(frame)

    def _expire(self, conn: Connection) -> None:
        log.info("websocket %s: heartbeat timeout, closing", conn.id)
        conn.abort(CloseCode.INTERNAL_ERROR, "heartbeat timeout")
        conn.expire_after(self.close_timeout)
