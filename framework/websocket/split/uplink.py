"""A business worker's link to one gateway: :class:`GatewayLink`.

It connects to the gateway's Unix socket, says ``hello`` and ``ready`` (or ``drain`` when
the worker is draining), and hands what the gateway sends to its
:class:`~framework.websocket.split.business.BusinessNode`. When the link breaks (the
gateway stopped or died) it reconnects with exponential backoff, from 0.05 s up to
``ws.bus_backoff_max``; the connections it carried are gone with their gateway. It also
carries this worker's Gateway API calls about the gateway's clients (:meth:`request`,
:meth:`deliver`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from typing import TYPE_CHECKING, Any

from framework.bus.errors import BusError, BusUnavailableError
from framework.websocket.split import http
from framework.websocket.split.link import Link
from framework.websocket.split.protocol import (
    Packet,
    ProtocolError,
    client_id,
    encode,
    integer,
    text,
)

if TYPE_CHECKING:
    from framework.websocket.split.business import BusinessNode

__all__ = ["GatewayLink"]

log = logging.getLogger("swoop.websocket")

_BACKOFF_START = 0.05


class GatewayLink:
    """This worker's link to one gateway, reconnected until the worker stops."""

    def __init__(self, node: BusinessNode, path: str) -> None:
        self.node = node
        self.path = path
        self.link: Link | None = None
        self.prefix: str | None = None  # the gateway's client ids start with it
        self.proxies: set[str] = set()
        self.requests: dict[int, http.Request] = {}
        self.welcomed = asyncio.Event()
        self.draining = asyncio.Event()  # the gateway sends nothing new
        self.drained = asyncio.Event()  # nothing of ours is in flight there
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self.bye = False  # the gateway said it stops

    @property
    def connected(self) -> bool:
        return self.prefix is not None and self.link is not None and not self.link.closed

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if self.link is not None:
            self.link.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        node, delay, failures = self.node, _BACKOFF_START, 0
        while not node.closing and not node.draining:
            try:
                reader, writer = await asyncio.open_unix_connection(self.path)
            except OSError as exc:
                failures += 1
                if failures == 1 or failures % 20 == 0:
                    # after a gateway said it stops, the server is stopping or restarting it
                    (log.info if self.bye else log.warning)(
                        "business worker: cannot reach the gateway at %s (%s); retrying",
                        self.path,
                        exc.strerror or exc,
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, node.settings.bus_backoff_max)
                continue
            failures, delay, self.bye = 0, _BACKOFF_START, False
            self.draining.clear()
            self.drained.clear()
            link = Link(reader, writer, name=f"to {self.path}", queue_size=node.queue_size)
            self.link = link
            link.send(encode({"t": "hello", "worker": node.name, "pid": os.getpid()}))
            link.send(encode({"t": "drain" if node.draining else "ready"}))
            try:
                await link.run(self._on_packet)
            finally:
                self._lost(link)
            if not node.closing and not node.draining:
                (log.info if self.bye else log.warning)(
                    "business worker: the gateway at %s %s; reconnecting",
                    self.path,
                    "stopped" if self.bye else "went away",
                )
                await asyncio.sleep(delay)

    def _lost(self, link: Link) -> None:
        node, prefix = self.node, self.prefix
        self.prefix = None
        self.welcomed.clear()
        if prefix is not None and node.by_prefix.get(prefix) is self:
            del node.by_prefix[prefix]
        for cid in self.proxies:
            conn = node.proxies.get(cid)
            if conn is not None and conn.link is link:
                del node.proxies[cid]
                conn.closed()
        self.proxies.clear()
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(BusUnavailableError(f"the gateway at {self.path} went away"))
        for request in list(self.requests.values()):
            request.abort()
        self.draining.set()
        self.drained.set()

    def _on_packet(self, packet: Packet) -> None:
        kind, header = packet.type, packet.header
        link = self.link
        if link is None:
            return
        if kind in ("msg", "open", "close", "hs"):
            self.node.spawn(self.node.event(self, link, packet))
        elif kind == "reply":
            future = self._pending.pop(integer(header, "id"), None)
            if future is not None and not future.done():
                if header.get("ok"):
                    future.set_result(header.get("value"))
                else:
                    future.set_exception(BusError(str(header.get("error"))))
        elif kind == "drop":
            self.node.forget(self, client_id(header))
        elif kind == "http":
            number, scope = http.request_of(packet, self.requests)
            self.node.spawn(self.node.http(link, number, scope, self.requests))
        elif kind in ("hbody", "habort", "hack"):
            request = self.requests.get(integer(header, "h"))
            if request is None:
                return
            if kind == "hbody":
                request.body(packet.payload, bool(header.get("more")))
            elif kind == "habort":
                request.abort()
            else:
                request.ack()
        elif kind == "welcome":
            self.prefix = text(header, "prefix")
            self.node.by_prefix[self.prefix] = self
            self.welcomed.set()
            log.info("business worker %s linked to the gateway at %s", self.node.name, self.path)
        elif kind == "draining":
            self.draining.set()
        elif kind == "drained":
            self.drained.set()
        elif kind == "bye":
            self.bye = True
        else:
            raise ProtocolError(f"unexpected link packet {kind!r} from a gateway")

    # -- the Gateway API over the link -------------------------------------------------------

    def deliver(self, data: bytes) -> bool:
        """Send an encoded delivery (:func:`delivery_packet`) to this gateway's connections
        without waiting (``False``: dropped, counted)."""
        link = self.link
        if link is not None and self.connected and link.send(data):
            return True
        self.node.dropped(f"a delivery to the gateway at {self.path}")
        return False

    async def request(self, kind: str, op: str, args: list[Any]) -> Any:
        """A Gateway API change or query answered by this gateway.

        Raises:
            BusUnavailableError: not linked, or no answer within ``ws.bus_timeout``.
            BusError: the gateway failed to apply it, or the arguments are not JSON.
        """
        link = self.link
        if link is None or not self.connected:
            raise BusUnavailableError(f"cannot {op}: the gateway at {self.path} is not linked")
        if len(self._pending) >= self.node.queue_size:
            raise BusUnavailableError(f"cannot {op}: too many requests in flight")
        request_id = next(self._ids)
        try:
            data = encode({"t": "req", "id": request_id, "kind": kind, "op": op, "args": args})
        except TypeError as exc:
            raise BusError(f"cannot {op}: arguments are not JSON-serialisable: {exc}") from exc
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            if not await link.put(data):
                raise BusUnavailableError(f"cannot {op}: the gateway at {self.path} went away")
            async with asyncio.timeout(self.node.settings.bus_timeout):
                return await future
        except TimeoutError:
            timeout = self.node.settings.bus_timeout
            raise BusUnavailableError(
                f"{op}: no answer from the gateway within {timeout}s"
            ) from None
        finally:
            self._pending.pop(request_id, None)
