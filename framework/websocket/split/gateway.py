"""The gateway of a split ``ws`` server: it holds the WebSockets, the business workers run the
application (GatewayWorker's Gateway).

:class:`GatewayApp` is the ASGI app a gateway process serves. It never imports application
code. Per WebSocket it runs what needs no application code: the origin check, the limit on
connections, the heartbeat, the message size and rate limits, the send queues (the same
:class:`~framework.websocket.asgi.WebSocketApp` machinery as a non-split worker, on a real
:class:`~framework.websocket.connection.Connection` in its
:class:`~framework.websocket.registry.Registry`); everything else goes to a business worker
over a link (:mod:`.protocol`): the handshake, each message, the close.

- **Assignment**: a connection goes to the least loaded ready business worker at its
  handshake, and all its events go there, one at a time, in order (the next message is read
  once the previous one is done, as in a non-split worker). When that worker drains (a
  reload) or dies, the connection's next event goes to another one, with an *adopt*: its
  path, headers, query and state, so the new worker rebuilds the connection without a new
  handshake or ``on_open``.
- **Loss**: a draining worker finishes the events it has; a worker that dies with an event
  in flight has it sent once more to another worker (at least once); a second loss, or no
  ready worker within ``ws.split_timeout``, closes the client with 1013 (counted as lost).
- **State**: the session, uid and groups live here; an event carries them to the worker
  when they changed since the worker last saw them, and ``done`` carries back the session
  keys its handler changed.
- The gateway is a bus node like a worker (its own number in client ids), so Gateway API
  calls from anywhere reach its connections.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import orjson

from framework.bus.cluster import ClusterBus, worker_key
from framework.bus.protocol import delivery_from
from framework.http.routing import Router
from framework.server.engine import answer_lifespan
from framework.websocket.asgi import (
    CLIENT_JS_PATH,
    ASGIApp,
    WebSocketApp,
    client_js_app,
    deny,
    until_disconnect,
    ws_path,
)
from framework.websocket.bus import Change, Query, answer, apply, deliver
from framework.websocket.connection import CloseCode, Connection, ConnectionState
from framework.websocket.gateway import Gateway
from framework.websocket.parsers import Message
from framework.websocket.routing import CompiledModule, Handler
from framework.websocket.settings import WsSettings
from framework.websocket.split import http
from framework.websocket.split.links import BusinessLink, BusinessLinks, LinkLostError
from framework.websocket.split.protocol import (
    Packet,
    ProtocolError,
    client_id,
    encode,
    encode_frame,
    fits,
    frame_of,
    integer,
    scope_to_wire,
    text,
)

__all__ = ["Counters", "GatewayApp"]

log = logging.getLogger("swoop.websocket")

#: Replies of one event kept for the client's task; beyond, they are pushed at once.
_MAX_REPLIES = 64
_UNAVAILABLE = "no business worker available, try again later"
_NO_PARAMS: dict[str, Any] = {}  # a gateway never knows path parameters; never written


class _Route:
    """Where one connection's events go, and what its business worker knows of it."""

    __slots__ = (
        "closed",
        "conn",
        "groups",
        "id",
        "known",
        "link",
        "replies",
        "scope",
        "seq",
        "session",
        "uid",
        "waiting",
    )

    def __init__(self, client_id: str, scope: dict[str, Any]) -> None:
        self.id = client_id
        self.scope = scope  # the engine's (its connection keeps it anyway): no copy
        self.conn: Connection | None = None
        self.link: BusinessLink | None = None  # where the next event goes
        self.known: BusinessLink | None = None  # the worker holding this connection's object
        self.seq = 0
        self.waiting: tuple[int, asyncio.Future[Packet]] | None = None
        self.replies: list[str | bytes] = []
        self.session = b"{}"  # the state the known worker was last sent
        self.uid: str | None = None
        self.groups: frozenset[str] = frozenset()
        self.closed = False  # the business worker was told the connection is gone


class _Pinger:
    """The heartbeat frame of a module, learnt from the business worker at the handshake."""

    __slots__ = ("frame",)

    def __init__(self, frame: str | bytes | None) -> None:
        self.frame = frame

    def ping(self) -> str | bytes | None:
        return self.frame

    def decode(self, frame: str | bytes) -> Message:
        raise NotImplementedError("a gateway does not parse messages")

    def encode(self, cmd: str, data: Any, ext: dict[str, Any] | None) -> str | bytes:
        raise NotImplementedError("a gateway does not encode messages")


class Counters:
    """What ``status`` shows of a gateway; every field only grows."""

    __slots__ = ("http", "lost", "messages_in", "messages_out", "refused", "resent")

    def __init__(self) -> None:
        self.messages_in = 0  # client frames sent to business workers
        self.messages_out = 0  # frames from business workers to clients
        self.http = 0  # HTTP requests forwarded
        self.resent = 0  # events sent again after their worker died
        self.lost = 0  # events given up (a second loss)
        self.refused = 0  # events and requests with no worker to take them (1013, 503)


class GatewayApp(WebSocketApp):
    """The ASGI app of a gateway process (see the module docs).

    Args:
        gateway: this gateway's :class:`Gateway` (ids, registry, bus).
        settings: the ``ws.*`` protection settings.
        socket_path: the Unix socket business workers connect to.
        index: this gateway's number (``ws-gw-<index>.sock``).
        max_body_size: the largest HTTP request body forwarded (``http.max_body_size``).
    """

    def __init__(
        self,
        gateway: Gateway,
        settings: WsSettings,
        *,
        socket_path: str,
        index: int = 0,
        max_body_size: int = 1024 * 1024,
    ) -> None:
        super().__init__(Router([]), gateway, settings)
        self.index = index
        self.socket_path = socket_path
        self.max_body_size = max_body_size
        self.counters = Counters()
        self.links = BusinessLinks(
            socket_path,
            index=index,
            prefix=worker_key(gateway.ids),
            queue_size=settings.bus_queue_size,
            wait=settings.split_timeout,
            on_packet=self._on_packet,
        )
        self.routes: dict[str, _Route] = {}
        self._exchanges = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pingers: dict[Any, _Pinger] = {}
        self._script: ASGIApp | None = client_js_app() if settings.client_js else None
        self._module = CompiledModule(
            name="gateway",
            path="*",
            parser=None,
            commands={},
            open=Handler(self._opened, True, "business on_open"),
            close=Handler(self._closed, True, "business on_close"),
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen for business workers on ``socket_path`` (mode 0600).

        Raises:
            BusError: another gateway listens there.
        """
        await self.links.start()

    async def aclose(self) -> None:
        """Stop listening and close every link (business workers see them end)."""
        await self.links.aclose()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.heartbeat.stop()

    async def close_websockets(self, code: int, reason: str) -> None:
        """Close every WebSocket (``close_all``), then wait until the business workers have
        run ``on_close`` for each (at most ``ws.close_timeout`` more seconds)."""
        await self.close_all(code, reason)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.close_timeout
        while self.routes and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    def stats(self) -> dict[str, Any]:
        """Counters for ``status``: connections, business links, frames in and out, losses."""
        c, links = self.counters, list(self.links)
        return {
            "gateway": self.index,
            "connections": len(self.gateway.registry),
            "links": len(links),
            "ready_links": sum(1 for link in links if link.usable),
            "in": c.messages_in,
            "out": c.messages_out,
            "http": c.http,
            "resent": c.resent,
            "lost": c.lost,
            "refused": c.refused,
            "dropped": self.gateway.stats.dropped
            + self.links.dropped
            + sum(link.link.dropped for link in links),
            "closed_slow": self.gateway.stats.closed_slow,
        }

    async def pick(self) -> BusinessLink | None:
        """The least loaded ready business worker, waiting up to ``ws.split_timeout``."""
        return await self.links.pick()

    def check_drained(self, link: BusinessLink) -> None:
        self.links.check_drained(link)

    # -- packets from business workers -------------------------------------------------------

    def _on_packet(self, link: BusinessLink, packet: Packet) -> None:
        kind, header = packet.type, packet.header
        if kind in ("done", "accept", "deny"):
            self._answered(link, packet)
        elif kind == "out":
            self._out(packet)
        elif kind == "deliver":
            self.counters.messages_out += deliver(self.gateway.registry, delivery_from(packet))
        elif kind in ("hstart", "hbody"):
            exchange = link.http.get(integer(header, "h"))
            if exchange is not None:
                exchange.feed(packet)
        elif kind == "end":
            self._end(header)
        elif kind == "req":
            self._spawn(self._request(link, header))
        else:
            raise ProtocolError(f"unexpected link packet {kind!r} from a business worker")

    def _answered(self, link: BusinessLink, packet: Packet) -> None:
        waiting = link.inflight.get(client_id(packet.header))
        if waiting is not None and waiting[0] == integer(packet.header, "s"):
            if not waiting[1].done():
                waiting[1].set_result(packet)

    def _out(self, packet: Packet) -> None:
        header = packet.header
        conn = self.gateway.registry.clients.get(client_id(header))
        if conn is None:
            return
        self.counters.messages_out += 1
        frame = frame_of(packet)
        route = self.routes.get(conn.id)
        if header.get("reply") and route is not None and route.waiting is not None:
            if len(route.replies) < _MAX_REPLIES:
                route.replies.append(frame)  # written by the client's task, which waits
                return
        conn.push(frame)

    def _end(self, header: dict[str, Any]) -> None:
        conn = self.gateway.registry.clients.get(client_id(header))
        if conn is None:
            return
        code, reason = integer(header, "code"), text(header, "reason")
        if header.get("abort"):
            conn.abort(code, reason)
        else:
            self._spawn(conn.close(code, reason))

    async def _request(self, link: BusinessLink, header: dict[str, Any]) -> None:
        """A Gateway API change or query from a business worker about this gateway's clients."""
        request_id, kind, op = header.get("id"), header.get("kind"), text(header, "op")
        args = header.get("args")
        try:
            if not isinstance(args, list):
                raise ProtocolError("req: args must be a list")
            value = await self._apply(kind, op, args)
            reply = encode({"t": "reply", "id": request_id, "ok": True, "value": value})
        except Exception as exc:
            reply = encode({"t": "reply", "id": request_id, "ok": False, "error": repr(exc)})
        await link.link.put(reply)

    async def _apply(self, kind: Any, op: str, args: list[Any]) -> Any:
        bus, registry = self.gateway.bus, self.gateway.registry
        if kind == "change":
            if op == "ungroup":  # the whole cluster: through the bus
                return await bus.change(Change(op, tuple(args)))
            if isinstance(bus, ClusterBus):
                return await bus.apply_local(Change(op, tuple(args)))
            return await apply(registry, Change(op, tuple(args)))
        if kind == "query":
            return answer(registry, Query(op, tuple(args)))
        raise ProtocolError(f"req: unknown kind {kind!r}")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "http":
            if self._script is not None and ws_path(scope) == CLIENT_JS_PATH:
                await self._script(scope, receive, send)
            else:
                await http.forward(self, scope, receive, send)
        elif kind == "lifespan":
            await answer_lifespan(receive, send)

    def next_exchange(self) -> int:
        self.counters.http += 1
        return next(self._exchanges)

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        route = _Route(self.gateway.ids.next(), scope)
        self.routes[route.id] = route
        try:
            headers = dict(scope.get("headers", ()))
            origin = headers.get(b"origin")
            if not self._origins.allows(None if origin is None else origin.decode("latin-1")):
                await deny(scope, send, 403, "origin not allowed")
                return
            answered = await self._event(route, "hs", {})
            if answered is None:
                await deny(scope, send, 503, "no business worker is ready; try again")
                return
            header = answered.header
            if answered.type == "deny":
                route.closed = True
                await deny(scope, send, integer(header, "status"), text(header, "reason"))
                return
            conn = self._connection(route, scope, send, answered)
            await send({"type": "websocket.accept"})
            refusal = self._refusal()
            if refusal is not None:
                conn.state = ConnectionState.OPEN
                await conn.close(*refusal)
                await until_disconnect(receive, self.settings.close_timeout)
                return
            route.closed = True  # from here on, on_close tells the business worker
            await self._serve(self._module, self._forward, conn, receive)
        finally:
            self._release(route)

    def _connection(
        self, route: _Route, scope: dict[str, Any], send: Any, accepted: Packet
    ) -> Connection:
        header = accepted.header
        session = header.get("session")
        if not isinstance(session, dict):
            raise ProtocolError("accept: session must be an object")
        ping = header.get("ping")
        frame = None if not ping else frame_of(accepted, "pb")
        pinger = self._pingers.get(frame)
        if pinger is None:
            pinger = self._pingers[frame] = _Pinger(frame)
        conn = Connection(
            route.id,
            scope,
            send,
            parser=pinger,
            path_params=_NO_PARAMS,
            stats=self.gateway.stats,
            queue_limit=self.settings.send_queue_size,
            max_drops=self.settings.slow_client_drops,
            module=str(header.get("module", "")),
        )
        if session:
            conn.session.update(session)
        route.conn = conn
        route.session = orjson.dumps(conn.session)
        return conn

    def _release(self, route: _Route) -> None:
        self.routes.pop(route.id, None)
        link = route.link
        if link is not None:
            link.assigned -= 1
            route.link = None
        known = route.known
        if not route.closed and known is not None and not known.link.closed:
            known.link.send(encode({"t": "drop", "c": route.id}))

    async def _forward(self, conn: Connection, frame: str | bytes) -> None:
        route = self.routes.get(conn.id)
        if route is None:
            return
        self.counters.messages_in += 1
        if not fits(frame):  # only with a ws.max_message_size beyond what a link carries
            await conn.close(CloseCode.TOO_BIG, "message too big")
            return
        answered = await self._event(route, "msg", {}, frame)
        await self._finish(route, conn, answered)

    async def _opened(self, conn: Connection, msg: Message | None) -> None:
        route = self.routes.get(conn.id)
        if route is not None:
            await self._finish(route, conn, await self._event(route, "open", {}))

    async def _closed(self, conn: Connection, msg: Message | None) -> None:
        route = self.routes.get(conn.id)
        if route is not None:
            fields = {"code": conn.close_code, "reason": conn.close_reason}
            await self._event(route, "close", fields)

    async def _finish(self, route: _Route, conn: Connection, answered: Packet | None) -> None:
        """Apply what a business worker answered to an event: session changes, replies."""
        if answered is None:
            await conn.close(CloseCode.TRY_AGAIN_LATER, _UNAVAILABLE)
            return
        header = answered.header
        if header.get("gone"):
            await conn.close(
                CloseCode.INTERNAL_ERROR, "no WebSocket endpoint at this path any more"
            )
            return
        changed, removed = header.get("set"), header.get("del")
        if changed or removed:
            session = conn.session
            if isinstance(changed, dict):
                session.update(changed)
            for key in removed if isinstance(removed, list) else ():
                session.pop(key, None)
        replies = route.replies
        if header.get("r"):
            replies.append(frame_of(answered, "rb"))
        if replies:
            route.replies = []
            self.counters.messages_out += len(replies)
            for frame in replies:
                await conn.reply(frame)

    async def _event(
        self, route: _Route, kind: str, fields: dict[str, Any], frame: str | bytes | None = None
    ) -> Packet | None:
        """Send one event of ``route``'s connection and wait for its answer; ``None`` when
        no business worker took it (none ready, the link's queue full, lost twice)."""
        loop = asyncio.get_running_loop()
        for attempt in (0, 1):
            link = route.link
            if link is None or not link.usable:
                link = await self.pick()
                if link is None:
                    self.counters.refused += 1
                    return None
                if route.link is not None:
                    route.link.assigned -= 1
                route.link = link
                link.assigned += 1
            route.seq += 1
            header = {"t": kind, "c": route.id, "s": route.seq, **fields}
            if kind == "hs" or route.known is not link:
                header["scope"] = scope_to_wire(route.scope)  # the handshake, or an adopt
            state = self._state(route, force=route.known is not link)
            if state is not None and kind != "hs":
                header["state"] = state
            data = encode(header) if frame is None else encode_frame(header, frame)
            future: asyncio.Future[Packet] = loop.create_future()
            waiting = route.waiting = (route.seq, future)
            link.inflight[route.id] = waiting
            try:
                if not link.link.send(data):
                    self.counters.refused += 1
                    return None
                answered = await future
            except LinkLostError:
                route.known = None
                if attempt == 0:
                    self.counters.resent += 1
                    continue
                self.counters.lost += 1
                return None
            finally:
                route.waiting = None
                if link.inflight.get(route.id) is waiting:
                    del link.inflight[route.id]
                self.links.check_drained(link)
            if kind != "hs" or answered.type == "accept":
                route.known = link
            return answered
        return None

    def _state(self, route: _Route, *, force: bool) -> dict[str, Any] | None:
        """The connection's session, uid and groups if the worker has not seen them yet."""
        conn = route.conn
        if conn is None:
            return None
        session = orjson.dumps(conn.session)
        if not force and session == route.session and conn.uid == route.uid:
            if conn.groups == route.groups:
                return None
        route.session, route.uid, route.groups = session, conn.uid, frozenset(conn.groups)
        return {"session": orjson.Fragment(session), "uid": conn.uid, "groups": sorted(conn.groups)}
