"""A gateway's client as a business worker's handlers see it: :class:`LinkedConnection`.

It is a :class:`~framework.websocket.connection.Connection` (handlers bind it by that type,
``isinstance`` holds) with the same handshake data (``id``, ``path``, ``path_params``,
``headers``, ``query``, ``cookies``, ``client``) and state (``session``, ``uid``,
``groups``), whose sends go over the link to the gateway that holds the socket:

- ``send``/``emit``/``push`` queue an ``out`` packet without waiting (a full link queue
  drops the frame, counted in :attr:`dropped`), as a non-split connection never waits;
- replies of the message being handled travel with its ``done`` packet, and the gateway
  writes them before it reads the client's next message (the same back pressure);
- ``close``/``abort`` ask the gateway to close the socket; ``on_close`` then runs when the
  gateway reports the close.

``uid`` and ``groups`` are a copy kept current by the gateway (sent with an event when
they changed) and by this worker's own Gateway API calls; the session is this worker's
copy, and the keys a handler changes are written back when the handler returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from framework.websocket.connection import CloseCode, Connection, ConnectionState, Outgoing
from framework.websocket.routing import CompiledModule
from framework.websocket.split.link import Link
from framework.websocket.split.protocol import MAX_FRAME, encode, encode_frame, fits

if TYPE_CHECKING:
    from framework.websocket.connection import SendStats
    from framework.websocket.dispatch import Dispatcher

__all__ = ["LinkedConnection", "session_changes", "snapshot"]

log = logging.getLogger("swoop.websocket")


async def _no_send(message: dict[str, Any]) -> None:
    raise RuntimeError("a linked connection sends through its gateway")


class LinkedConnection(Connection):
    """A client held by a gateway, served by this business worker (see the module docs).

    Attributes:
        link: the link to the gateway holding the socket.
        compiled: the module serving the connection's path.
        dispatcher: runs its messages.
        replies: while a message is handled, the replies to send with its ``done``.
        tail: the task running its latest event (events of one connection run in order).
    """

    __slots__ = ("compiled", "dispatcher", "link", "replies", "tail")

    def __init__(
        self,
        client_id: str,
        scope: Mapping[str, Any],
        link: Link,
        *,
        compiled: CompiledModule,
        dispatcher: Dispatcher,
        path_params: dict[str, Any],
        stats: SendStats,
    ) -> None:
        super().__init__(
            client_id,
            scope,
            _no_send,
            parser=compiled.parser,
            path_params=path_params,
            stats=stats,
            module=compiled.name,
        )
        self.link = link
        self.compiled = compiled
        self.dispatcher = dispatcher
        self.replies: list[str | bytes] | None = None
        self.tail: asyncio.Task[Any] | None = None

    def __repr__(self) -> str:
        return f"<LinkedConnection {self.id} {self.path} {self.state.name}>"

    def push_out(self, out: Outgoing) -> bool:
        if self.state is not ConnectionState.OPEN or not self._fits(out.frame):
            return False
        if self.link.send(encode_frame({"t": "out", "c": self.id}, out.frame)):
            return True
        self.dropped += 1
        return False

    def _fits(self, frame: str | bytes) -> bool:
        if fits(frame):
            return True
        log.error(
            "websocket %s: a frame over %d bytes was not sent (the link's limit)",
            self.id,
            MAX_FRAME,
        )
        self.dropped += 1
        return False

    async def reply(self, frame: str | bytes) -> None:
        if self.state is not ConnectionState.OPEN or not self._fits(frame):
            return
        replies = self.replies
        if replies is not None:
            replies.append(frame)
            return
        await self.link.put(encode_frame({"t": "out", "c": self.id, "reply": 1}, frame))

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        if self.state is not ConnectionState.OPEN:
            return
        self.state = ConnectionState.CLOSING
        self.close_code, self.close_reason = code, reason
        await self.link.put(encode({"t": "end", "c": self.id, "code": code, "reason": reason}))

    def abort(self, code: int, reason: str) -> None:
        if self.state is not ConnectionState.OPEN:
            return
        self.state = ConnectionState.CLOSING
        self.close_code, self.close_reason = code, reason
        end = {"t": "end", "c": self.id, "code": code, "reason": reason, "abort": 1}
        self.link.send(encode(end))

    def adopt_state(self, state: Any) -> None:
        """Take the session, uid and groups the gateway sent (``{"session", "uid",
        "groups"}``), keeping the session object handlers may hold.

        Raises:
            ValueError: the state does not have that shape.
        """
        if not isinstance(state, dict):
            raise ValueError("state must be an object")
        session, uid, groups = state.get("session"), state.get("uid"), state.get("groups")
        if not isinstance(session, dict) or not (uid is None or isinstance(uid, str)):
            raise ValueError("state: session must be an object and uid a string or null")
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ValueError("state: groups must be a list of strings")
        current = self.session
        current.clear()
        current.update(session)
        self.uid = uid
        joined = self.groups
        if joined != set(groups):
            joined.clear()
            joined.update(groups)


def snapshot(session: Mapping[str, Any]) -> bytes | None:
    """The session as JSON before a handler runs (``None``: it holds non-JSON values)."""
    try:
        return orjson.dumps(session)
    except TypeError:
        return None


def session_changes(before: bytes | None, session: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a handler changed in a session: ``{"set": {...}, "del": [...]}`` or ``None``.

    Values are compared as JSON, so changes inside nested dicts and lists are seen. A
    session holding values JSON cannot carry is not written back (logged): sessions of a
    split server must be JSON, as sessions that cross workers already must.
    """
    try:
        after = orjson.dumps(session)
    except TypeError as exc:
        log.warning("session not written back to the gateway: %s (use JSON values)", exc)
        return None
    if after == before:
        return None
    old: dict[str, Any] = orjson.loads(before) if before else {}
    changed = {
        key: value
        for key, value in session.items()
        if key not in old or orjson.dumps(value) != orjson.dumps(old[key])
    }
    removed = [key for key in old if key not in session]
    return {"set": changed, "del": removed}
