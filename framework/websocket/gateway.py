"""The Gateway API: GatewayWorker's vocabulary, usable from anywhere in the application.

Inject :class:`Gateway` into a WebSocket handler, an HTTP controller, a listener or a task
(or reach it as ``app.extension(WebSocketExtension).gateway``)::

    await gateway.bind_uid(conn.id, "ada")
    await gateway.join_group(conn.id, "room:lobby")
    await gateway.send_to_group("room:lobby", {"cmd": "chat.message", "data": "hi"})

A message is sent as a text frame when it is a ``str``, a binary frame when it is ``bytes``,
and as JSON text otherwise; it is encoded once per call, whatever the number of recipients.
Send ``{"cmd": ..., "data": ...}`` to JSON-parser clients so ``client.js`` dispatches it to
``on(cmd, fn)``. Every method is ``async``: today the state is in this worker, but client
ids may name connections of other workers and hosts, whose answers arrive over the bus
(issue 6); the API does not change when they do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from framework.websocket.bus import Bus, Change, Delivery, InProcessBus, Query, Target
from framework.websocket.clientid import ClientIdFactory
from framework.websocket.connection import CloseCode, Connection, SendStats
from framework.websocket.parsers import encode_value
from framework.websocket.registry import Registry

__all__ = ["Gateway"]


def _keys(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _exclude(value: str | Iterable[str] | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset((value,)) if isinstance(value, str) else frozenset(value)


class Gateway:
    """Send to clients, uids, groups and everyone; manage uids, groups and sessions.

    Client ids are strings like ``web1-0-t3k9qa-1z`` (see :mod:`framework.websocket.clientid`);
    an id of a connection that has closed is simply not found: sends to it do nothing and
    queries answer ``False``/``None``/empty.
    """

    def __init__(
        self, ids: ClientIdFactory, registry: Registry | None = None, bus: Bus | None = None
    ) -> None:
        self.ids = ids
        self.registry = registry if registry is not None else Registry()
        self.bus: Bus = bus if bus is not None else InProcessBus(self.registry)
        self.stats = SendStats()

    def connection(self, client_id: str) -> Connection | None:
        """The :class:`Connection` object of a client of *this* worker, or ``None``."""
        return self.registry.clients.get(client_id)

    # -- sending ----------------------------------------------------------------------------

    async def send_to_client(self, client_id: str | Iterable[str], message: Any) -> None:
        """Send ``message`` to one client id (or to each of a list of them)."""
        frame = encode_value(message)
        if isinstance(client_id, str) and self.ids.is_local(client_id):
            self.registry.to_clients((client_id,), frame)  # the fast path: no bus
            return
        await self.bus.deliver(Delivery(Target.CLIENT, _keys(client_id), frame))

    async def send_to_uid(self, uid: str | Iterable[str], message: Any) -> None:
        """Send ``message`` to every connection bound to ``uid`` (or to any of several)."""
        await self.bus.deliver(Delivery(Target.UID, _keys(uid), encode_value(message)))

    async def send_to_group(
        self,
        group: str | Iterable[str],
        message: Any,
        *,
        exclude: str | Iterable[str] | None = None,
    ) -> None:
        """Send ``message`` to the members of ``group`` (or of several groups, once each),
        except the client ids in ``exclude``."""
        delivery = Delivery(Target.GROUP, _keys(group), encode_value(message), _exclude(exclude))
        await self.bus.deliver(delivery)

    async def send_to_all(
        self, message: Any, *, exclude: str | Iterable[str] | None = None
    ) -> None:
        """Send ``message`` to every connection, except the client ids in ``exclude``."""
        await self.bus.deliver(Delivery(Target.ALL, (), encode_value(message), _exclude(exclude)))

    async def close_client(
        self, client_id: str, code: int = CloseCode.NORMAL, reason: str = ""
    ) -> bool:
        """Close a client after the frames already queued for it. ``False``: not connected."""
        return await self._change("close", client_id, code, reason)

    # -- uids and groups --------------------------------------------------------------------

    async def bind_uid(self, client_id: str, uid: str) -> bool:
        """Bind a client to a user id (replacing its previous uid). A uid may have several
        clients. ``False``: the client is not connected."""
        return await self._change("bind_uid", client_id, uid)

    async def unbind_uid(self, client_id: str, uid: str | None = None) -> bool:
        """Unbind a client from its uid (only if it is ``uid``, when given)."""
        return await self._change("unbind_uid", client_id, uid)

    async def join_group(self, client_id: str, group: str) -> bool:
        """Add a client to a group (groups exist while they have members)."""
        return await self._change("join_group", client_id, group)

    async def leave_group(self, client_id: str, group: str) -> bool:
        """Remove a client from a group. ``False``: it was not a member."""
        return await self._change("leave_group", client_id, group)

    async def ungroup(self, group: str) -> None:
        """Dissolve a group; its members stay connected."""
        await self.bus.change(Change("ungroup", (group,)))

    # -- sessions ---------------------------------------------------------------------------

    async def get_session(self, client_id: str) -> dict[str, Any] | None:
        """A copy of the client's session, or ``None`` when it is not connected."""
        return await self._query("session", client_id)  # type: ignore[no-any-return]

    async def set_session(self, client_id: str, data: Mapping[str, Any]) -> bool:
        """Replace the client's session with ``data``."""
        return await self._change("set_session", client_id, dict(data))

    async def update_session(self, client_id: str, data: Mapping[str, Any]) -> bool:
        """Merge ``data`` into the client's session."""
        return await self._change("update_session", client_id, dict(data))

    # -- presence and counts ----------------------------------------------------------------

    async def is_online(self, client_id: str) -> bool:
        """Whether the client is connected."""
        return bool(await self._query("is_online", client_id))

    async def is_uid_online(self, uid: str) -> bool:
        """Whether at least one client is bound to ``uid``."""
        return bool(await self.bus.query(Query("is_uid_online", (uid,))))

    async def client_ids_by_uid(self, uid: str) -> list[str]:
        """The client ids bound to ``uid``."""
        return list(await self.bus.query(Query("client_ids_by_uid", (uid,))))

    async def uid_by_client(self, client_id: str) -> str | None:
        """The uid the client is bound to, or ``None``."""
        return await self._query("uid_by_client", client_id)  # type: ignore[no-any-return]

    async def group_client_ids(self, group: str) -> list[str]:
        """The client ids in ``group``."""
        return list(await self.bus.query(Query("group_client_ids", (group,))))

    async def group_count(self, group: str) -> int:
        """How many clients are in ``group``."""
        return int(await self.bus.query(Query("group_count", (group,))))

    async def all_count(self) -> int:
        """How many clients are connected."""
        return int(await self.bus.query(Query("all_count")))

    # -- plumbing ---------------------------------------------------------------------------

    async def _change(self, op: str, client_id: str, *args: Any) -> bool:
        return await self.bus.change(Change(op, (client_id, *args)))

    async def _query(self, op: str, client_id: str) -> Any:
        return await self.bus.query(Query(op, (client_id,)))
