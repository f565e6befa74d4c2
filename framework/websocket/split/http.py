"""HTTP on the port of a split ``ws`` server: the gateway forwards each request to a business
worker, which runs the application's HTTP routes (so a reload serves new code there too)
and streams the response back.

- The request body goes in chunks as the client sends it, at most ``http.max_body_size``
  bytes; beyond, the gateway answers 413 itself and tells the worker the client is gone.
- The response body comes back in chunks of at most 64 KiB; the worker sends at most
  :data:`WINDOW` chunks ahead of what the gateway has written to the client (each written
  chunk is acknowledged, ``hack``), so a slow client holds back the application, not the
  gateway's memory.
- No ready worker within ``ws.split_timeout``, or the link's queue full: 503; the worker
  gone before it answered: 502 (after the response started: the connection is dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from framework.websocket.split.link import Link
from framework.websocket.split.protocol import (
    CHUNK,
    Packet,
    ProtocolError,
    encode,
    integer,
    scope_from_wire,
    scope_to_wire,
)

if TYPE_CHECKING:
    from framework.websocket.asgi import ASGIApp
    from framework.websocket.split.gateway import GatewayApp
    from framework.websocket.split.links import BusinessLink

__all__ = ["WINDOW", "Exchange", "Request", "forward", "request_of", "serve"]

log = logging.getLogger("swoop.websocket")

#: Response chunks a business worker may send ahead of the gateway's acknowledgements.
WINDOW = 8
_TEXT = ["content-type", "text/plain; charset=utf-8"]
NO_WORKER = "no business worker is ready to serve this request; try again"


class Exchange:
    """One forwarded request as the gateway sees it: the packets of its response."""

    __slots__ = ("gone", "items", "too_large", "wake")

    def __init__(self) -> None:
        self.items: deque[Packet] = deque()
        self.wake = asyncio.Event()
        self.gone = False
        self.too_large = False

    def feed(self, packet: Packet) -> None:
        if len(self.items) > WINDOW + 1:  # more than the window allows: a broken worker
            self.gone = True
        else:
            self.items.append(packet)
        self.wake.set()

    def lost(self) -> None:
        self.gone = True
        self.wake.set()

    async def next(self) -> Packet | None:
        while not self.items:
            if self.gone:
                return None
            self.wake.clear()
            await self.wake.wait()
        return self.items.popleft()


async def forward(owner: GatewayApp, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Serve one HTTP request of the gateway through a business worker."""
    link = await owner.pick()
    if link is None:
        owner.counters.refused += 1
        await _plain(send, 503, NO_WORKER)
        return
    first = await receive()
    if first["type"] != "http.request":
        return
    body, more = first.get("body", b""), bool(first.get("more_body", False))
    limit = owner.max_body_size
    if len(body) > limit:
        await _plain(send, 413, "request body too large")
        return
    number = owner.next_exchange()
    exchange = link.http[number] = Exchange()
    pump: asyncio.Task[None] | None = None
    try:
        header = {"t": "http", "h": number, "scope": scope_to_wire(scope), "more": more}
        if not link.link.send(encode(header, body)):
            owner.counters.refused += 1
            await _plain(send, 503, "the server is busy; try again")
            return
        pump = asyncio.get_running_loop().create_task(
            _pump(link.link, number, receive, exchange, more, len(body), limit)
        )
        await _respond(link, number, exchange, send)
    finally:
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        link.http.pop(number, None)
        owner.check_drained(link)


async def _pump(
    link: Link, number: int, receive: Any, exchange: Exchange, more: bool, total: int, limit: int
) -> None:
    """Forward the rest of the request body, then wait for the client to go away."""
    while more:
        message = await receive()
        if message["type"] != "http.request":
            link.send(encode({"t": "habort", "h": number}))
            return
        chunk = message.get("body", b"")
        total += len(chunk)
        more = bool(message.get("more_body", False))
        if total > limit:
            exchange.too_large = True
            exchange.lost()
            link.send(encode({"t": "habort", "h": number}))
            return
        if not await link.put(encode({"t": "hbody", "h": number, "more": more}, chunk)):
            return
    while (await receive())["type"] != "http.disconnect":
        pass
    link.send(encode({"t": "habort", "h": number}))


async def _respond(link: BusinessLink, number: int, exchange: Exchange, send: Any) -> None:
    started = False
    while True:
        packet = await exchange.next()
        if packet is None:
            if not started:
                if exchange.too_large:
                    await _plain(send, 413, "request body too large")
                else:
                    await _plain(send, 502, "the business worker went away; try again")
            return
        header = packet.header
        if packet.type == "hstart" and not started:
            headers = _headers(header.get("headers"))
            status = integer(header, "status")
            await send({"type": "http.response.start", "status": status, "headers": headers})
            started = True
            continue
        if packet.type != "hbody" or not started or header.get("abort"):
            return  # a worker that failed half-way: the engine drops the connection
        more = bool(header.get("more"))
        await send({"type": "http.response.body", "body": packet.payload, "more_body": more})
        if not more:
            return
        link.link.send(encode({"t": "hack", "h": number}))


def _headers(value: Any) -> list[tuple[bytes, bytes]]:
    if not isinstance(value, list):
        raise ProtocolError("hstart: headers must be a list")
    try:
        return [(str(k).encode("latin-1"), str(v).encode("latin-1")) for k, v in value]
    except (TypeError, ValueError, UnicodeEncodeError):
        raise ProtocolError("hstart: headers must be [name, value] latin-1 pairs") from None


async def _plain(send: Any, status: int, text: str) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- the business worker's side ------------------------------------------------------------


class Request:
    """One forwarded request as a business worker sees it: its ASGI ``receive``."""

    __slots__ = ("aborted", "credit", "messages", "room", "wake")

    def __init__(self) -> None:
        self.messages: deque[dict[str, Any]] = deque()
        self.wake = asyncio.Event()
        self.room = asyncio.Event()
        self.credit = WINDOW
        self.aborted = False

    def body(self, chunk: bytes, more: bool) -> None:
        self.messages.append({"type": "http.request", "body": chunk, "more_body": more})
        self.wake.set()

    def abort(self) -> None:
        self.aborted = True
        self.messages.append({"type": "http.disconnect"})
        self.wake.set()
        self.room.set()

    def ack(self) -> None:
        self.credit += 1
        self.room.set()

    async def spend(self) -> None:
        """Count a chunk sent ahead; wait while :data:`WINDOW` of them are unacknowledged."""
        self.credit -= 1
        while self.credit <= 0 and not self.aborted:
            self.room.clear()
            await self.room.wait()

    async def receive(self) -> dict[str, Any]:
        while not self.messages:
            self.wake.clear()
            await self.wake.wait()
        message = self.messages[0]
        if message["type"] != "http.disconnect":  # a disconnect is answered every time
            self.messages.popleft()
        return message


def request_of(packet: Packet, requests: dict[int, Request]) -> tuple[int, dict[str, Any]]:
    """Register the request an ``http`` packet starts (before its body packets arrive):
    its number and ASGI scope.

    Raises:
        ProtocolError: a malformed packet.
    """
    number = integer(packet.header, "h")
    scope = scope_from_wire(packet.header.get("scope"))
    if scope["type"] != "http":
        raise ProtocolError("http: the scope must be an HTTP scope")
    request = requests[number] = Request()
    request.body(packet.payload, bool(packet.header.get("more")))
    return number, scope


async def serve(
    app: ASGIApp, link: Link, number: int, scope: dict[str, Any], requests: dict[int, Request]
) -> None:
    """Run one forwarded request through the application's ASGI app, answering on ``link``."""
    request = requests.get(number)
    if request is None:
        return
    progress = {"started": False, "done": False}

    async def send(message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start" and not progress["started"]:
            progress["started"] = True
            headers = [
                [bytes(k).decode("latin-1"), bytes(v).decode("latin-1")]
                for k, v in message.get("headers", ())
            ]
            status = int(message["status"])
            start = {"t": "hstart", "h": number, "status": status, "headers": headers}
            await link.put(encode(start))
        elif kind == "http.response.body" and progress["started"] and not progress["done"]:
            more = bool(message.get("more_body", False))
            progress["done"] = not more
            await _body(link, number, request, bytes(message.get("body", b"")), more)

    try:
        await app(scope, request.receive, send)
    except Exception:
        log.exception("HTTP request %s %s failed", scope.get("method"), scope.get("path"))
    finally:
        requests.pop(number, None)
    if not progress["started"]:
        start = {"t": "hstart", "h": number, "status": 500, "headers": [_TEXT]}
        await link.put(encode(start))
        await link.put(encode({"t": "hbody", "h": number, "more": False}, b"Internal Server Error"))
    elif not progress["done"]:
        await link.put(encode({"t": "hbody", "h": number, "more": False, "abort": 1}))


async def _body(link: Link, number: int, request: Request, body: bytes, more: bool) -> None:
    for start in range(0, max(len(body), 1), CHUNK):
        if request.aborted:
            return
        piece = body[start : start + CHUNK]
        piece_more = more or start + CHUNK < len(body)
        await link.put(encode({"t": "hbody", "h": number, "more": piece_more}, piece))
        if piece_more:
            await request.spend()
