"""The business side of a split ``ws`` server (GatewayWorker's BusinessWorker).

A business worker imports and runs the application but holds no socket of its own: its
:class:`BusinessNode` connects to every gateway's Unix socket (``ws.gateway_sockets``, set
by the process manager), says hello and ready, and serves what the gateways send:

- ``hs``: route the path to a module (no module: 404), run ``@on_handshake``, answer
  accept (with the session and the module's heartbeat frame) or deny (status, reason);
- ``open``/``msg``/``close``: run ``@on_open``, the message's handler (the module's parser
  and dispatcher, as a non-split worker does), ``@on_close``; answer ``done`` with the
  session keys the handler changed and its replies. An event carrying ``scope`` is the
  first one of a connection on this worker (its previous worker drained or died): the
  :class:`~.connection.LinkedConnection` is rebuilt from it (*adopted*), without a new
  handshake or ``on_open``;
- ``http``: run the application's HTTP routes (:mod:`.http`).

Events of one connection run one after the other; events of different connections run
concurrently, as in a non-split worker. On a reload the old worker sends ``drain``: the
gateways send it nothing new and answer ``drained`` once what it has is finished; then it
exits. A link that breaks is reconnected with exponential backoff (the gateway restarted);
the connections it carried are gone with their gateway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from framework.bus.protocol import delivery_body, frame
from framework.websocket.asgi import HandshakeRejected, call_hook, run_handshake, ws_path
from framework.websocket.bus import Delivery
from framework.websocket.connection import CloseCode, ConnectionState, SendStats
from framework.websocket.settings import WsSettings
from framework.websocket.split import http
from framework.websocket.split.connection import LinkedConnection, session_changes, snapshot
from framework.websocket.split.link import Link
from framework.websocket.split.protocol import (
    MAX_FRAME,
    Packet,
    client_id,
    encode,
    fits,
    frame_of,
    integer,
    scope_from_wire,
    text,
)
from framework.websocket.split.uplink import GatewayLink

if TYPE_CHECKING:
    from framework.http.routing import Router
    from framework.websocket.asgi import ASGIApp
    from framework.websocket.dispatch import Dispatcher
    from framework.websocket.routing import CompiledModule

__all__ = ["BusinessNode", "delivery_packet"]

log = logging.getLogger("swoop.websocket")

#: How long READY waits for the last gateways once one is linked.
LINK_WAIT = 5.0
#: How long a drain waits for the gateways to confirm they send nothing new.
DRAIN_ACK = 2.0


class BusinessNode:
    """A business worker's links to the gateways, and the connections it serves.

    Args:
        settings: the ``ws.*`` settings (``gateway_sockets``, timeouts, queue sizes).
        name: this worker's name on the bus (for the gateways' logs).
        stats: the send counters of this worker's gateway.
    """

    def __init__(self, settings: WsSettings, name: str, stats: SendStats) -> None:
        self.settings = settings
        self.name = name
        self.send_stats = stats
        self.queue_size = settings.bus_queue_size
        self.links = [GatewayLink(self, path) for path in settings.gateway_sockets]
        self.by_prefix: dict[str, GatewayLink] = {}
        self.proxies: dict[str, LinkedConnection] = {}
        self.router: Router[tuple[CompiledModule, Dispatcher]] | None = None
        self.http_app: ASGIApp | None = None
        self.closing = False
        self.draining = False
        self.events = 0  # events and HTTP requests served
        self.inflight = 0
        self.adopted = 0
        self.drops = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, http_app: ASGIApp) -> None:
        """Connect to every gateway (in the background) and serve what they send."""
        self.http_app = http_app
        for link in self.links:
            link.start()

    async def wait_linked(self) -> None:
        """Return once every gateway is linked, or :data:`LINK_WAIT` seconds after the
        first one is (a gateway being restarted links later)."""
        loop = asyncio.get_running_loop()
        first: float | None = None
        while not self.complete:
            if any(link.connected for link in self.links):
                first = loop.time() if first is None else first
                if loop.time() - first >= LINK_WAIT:
                    return
            await asyncio.sleep(0.02)

    async def drain(self, seconds: float, stopped: Callable[[], Awaitable[None]]) -> None:
        """Ask the gateways for nothing new; await ``stopped()`` once they confirmed (or
        after :data:`DRAIN_ACK`); return once they finished what they had sent (or after
        ``seconds``)."""
        self.draining = True
        linked = [link for link in self.links if link.connected]
        for link in linked:
            if link.link is not None:
                link.link.send(encode({"t": "drain"}))
        await _all_set([link.draining for link in linked], DRAIN_ACK)
        await stopped()
        if not await _all_set([link.drained for link in linked], seconds):
            log.warning(
                "business worker: gateways still had events in flight after %.1f s", seconds
            )

    async def aclose(self) -> None:
        """Close the links and cancel what still runs."""
        self.closing = True
        for link in self.links:
            await link.aclose()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def complete(self) -> bool:
        """Whether every gateway is linked."""
        return bool(self.links) and all(link.connected for link in self.links)

    def owner(self, client_id: str) -> GatewayLink | None:
        """The linked gateway holding ``client_id``, if any."""
        link = self.by_prefix.get(client_id.rpartition("-")[0])
        return link if link is not None and link.connected else None

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("business worker task failed", exc_info=task.exception())

    def stats(self) -> dict[str, Any]:
        return {
            "gateways": len(self.links),
            "linked": sum(1 for link in self.links if link.connected),
            "connections": len(self.proxies),
            "events": self.events,
            "adopted": self.adopted,
            "dropped": self.drops,
        }

    def dropped(self, what: str) -> None:
        self.drops += 1
        if self.drops == 1 or self.drops % 100 == 0:
            log.warning("business worker: %s dropped (%d so far)", what, self.drops)

    def forget(self, link: GatewayLink, cid: str) -> None:
        conn = self.proxies.get(cid)
        if conn is not None and conn.link is link.link:
            del self.proxies[cid]
            conn.closed()
        link.proxies.discard(cid)

    # -- events ------------------------------------------------------------------------------

    async def http(
        self, link: Link, number: int, scope: dict[str, Any], requests: dict[int, http.Request]
    ) -> None:
        self.events += 1
        self.inflight += 1
        try:
            if self.http_app is not None:
                await http.serve(self.http_app, link, number, scope, requests)
        finally:
            self.inflight -= 1

    async def event(self, glink: GatewayLink, link: Link, packet: Packet) -> None:
        """Serve one event and answer it (accept/deny for a handshake, else ``done``)."""
        header, kind = packet.header, packet.type
        cid, seq = client_id(header), integer(header, "s")
        self.events += 1
        self.inflight += 1
        try:
            if kind == "hs":
                try:
                    answer = await self._handshake(glink, link, cid, seq, header)
                except Exception:
                    log.exception("WebSocket handshake of %s failed", cid)
                    answer = _deny(cid, seq, 500, "Internal Server Error")
                await link.put(answer)
                return
            done: dict[str, Any] = {"t": "done", "c": cid, "s": seq}
            replies: list[str | bytes] = []
            try:
                replies = await self._event(glink, link, packet, done)
            except Exception:
                log.exception("WebSocket %s event of %s failed", kind, cid)
            await link.put(_done(done, replies))
        finally:
            self.inflight -= 1

    async def _event(
        self, glink: GatewayLink, link: Link, packet: Packet, done: dict[str, Any]
    ) -> list[str | bytes]:
        header, cid = packet.header, done["c"]
        conn = self._adopt(glink, link, cid, header) if "scope" in header else self.proxies.get(cid)
        if conn is None:
            done["gone"] = 1
            return []
        current = asyncio.current_task()
        previous, conn.tail = conn.tail, current
        try:
            if previous is not None and not previous.done():
                await asyncio.wait((previous,))
            return await self._run(glink, conn, packet, done)
        finally:
            if conn.tail is current:
                conn.tail = None  # nothing runs for this connection now

    async def _run(
        self, glink: GatewayLink, conn: LinkedConnection, packet: Packet, done: dict[str, Any]
    ) -> list[str | bytes]:
        header, kind, cid = packet.header, packet.type, conn.id
        if "state" in header:
            conn.adopt_state(header["state"])
        if kind == "close":
            conn.close_code = integer(header, "code")
            conn.close_reason = text(header, "reason")
            conn.closed()
            self.forget(glink, cid)
            if conn.compiled.close is not None:
                await _hook(conn.compiled.close, conn, "on_close")
            return []
        before = snapshot(conn.session)
        replies: list[str | bytes] = []
        if kind == "open":
            if conn.state is ConnectionState.CONNECTING:
                conn.state = ConnectionState.OPEN
            if conn.compiled.open is not None and not await _hook(
                conn.compiled.open, conn, "on_open"
            ):
                await conn.close(CloseCode.INTERNAL_ERROR, "on_open failed")
        else:
            conn.replies = replies
            try:
                await conn.dispatcher(conn, frame_of(packet))
            finally:
                conn.replies = None
        changes = session_changes(before, conn.session)
        if changes is not None:
            done.update(changes)
        return replies

    def _adopt(
        self, glink: GatewayLink, link: Link, cid: str, header: dict[str, Any]
    ) -> LinkedConnection | None:
        conn = self._connection(link, cid, scope_from_wire(header.get("scope")))
        if conn is not None:
            conn.state = ConnectionState.OPEN
            self.proxies[cid] = conn
            glink.proxies.add(cid)
            self.adopted += 1
        return conn

    def _connection(self, link: Link, cid: str, scope: dict[str, Any]) -> LinkedConnection | None:
        router = self.router
        found = None if router is None else router.lookup("GET", ws_path(scope))
        if found is None:
            return None
        (module, dispatcher), params = found
        return LinkedConnection(
            cid,
            scope,
            link,
            compiled=module,
            dispatcher=dispatcher,
            path_params=params,
            stats=self.send_stats,
        )

    async def _handshake(
        self, glink: GatewayLink, link: Link, cid: str, seq: int, header: dict[str, Any]
    ) -> bytes:
        conn = self._connection(link, cid, scope_from_wire(header.get("scope")))
        if conn is None:
            return _deny(cid, seq, 404, "no WebSocket endpoint at this path")
        try:
            await run_handshake(conn.compiled, conn)
        except HandshakeRejected as rejected:
            return _deny(cid, seq, rejected.status, rejected.reason)
        accept: dict[str, Any] = {"t": "accept", "c": cid, "s": seq, "module": conn.compiled.name}
        accept["session"] = dict(conn.session)
        ping = getattr(conn.parser, "ping", None)
        beat = ping() if ping is not None else None
        payload = b""
        if beat is not None:
            accept["ping"] = 1
            if isinstance(beat, bytes):
                accept["pb"], payload = 1, beat
            else:
                payload = str(beat).encode()
        try:
            data = encode(accept, payload)
        except TypeError as exc:
            log.error("on_handshake of %s returned a session that is not JSON: %s", cid, exc)
            return _deny(cid, seq, 500, "Internal Server Error")
        self.proxies[cid] = conn
        glink.proxies.add(cid)
        return data


def delivery_packet(delivery: Delivery) -> bytes | None:
    """A delivery as a link packet, encoded once for every gateway (``None``: its frame is
    larger than a link carries; logged)."""
    if not fits(delivery.frame):
        log.error("a delivery over %d bytes was not sent (the link's limit)", MAX_FRAME)
        return None
    return frame(delivery_body(delivery, None))


async def _hook(hook: Any, conn: LinkedConnection, name: str) -> bool:
    try:
        await call_hook(hook, conn)
    except Exception as exc:
        log.error("%s %s failed", name, hook.label, exc_info=exc)
        return False
    return True


def _deny(cid: str, seq: int, status: int, reason: str) -> bytes:
    return encode({"t": "deny", "c": cid, "s": seq, "status": status, "reason": reason})


def _done(done: dict[str, Any], replies: list[str | bytes]) -> bytes:
    """The ``done`` packet; its last reply rides in the payload, earlier ones before it."""
    if not replies:
        return encode(done)
    *earlier, last = replies
    head = b"".join(
        encode(_out(done["c"], frame), frame.encode() if isinstance(frame, str) else frame)
        for frame in earlier
    )
    done["r"] = 1
    if isinstance(last, str):
        return head + encode(done, last.encode())
    done["rb"] = 1
    return head + encode(done, last)


def _out(cid: str, frame: str | bytes) -> dict[str, Any]:
    header: dict[str, Any] = {"t": "out", "c": cid, "reply": 1}
    if not isinstance(frame, str):
        header["b"] = 1
    return header


async def _all_set(events: list[asyncio.Event], seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            for event in events:
                await event.wait()
    except TimeoutError:
        return False
    return True
