"""What every bus across workers does, whatever carries it (the hub or Redis).

The worker's own :class:`~framework.websocket.registry.Registry` stays the truth about its
connections. A :class:`ClusterBus`:

- delivers to its own connections first and directly, then hands the rest to the transport,
  which routes it only to the workers that hold a target (so local delivery keeps working
  while the hub or Redis is away);
- applies a change of one of its own clients locally and reports the resulting state
  (``open``, ``gone``, ``bind``, ``unbind``, ``join``, ``leave``) to the cluster; a change
  of another worker's client is forwarded to that worker, which does the same;
- answers questions about its own clients locally and asks the cluster for the rest.

A report that cannot be sent (transport down, queue full) marks the worker *dirty*: its
whole state is sent again (a snapshot) as soon as the transport is back, so the cluster
view converges without unbounded buffering.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Protocol

from framework.websocket.bus import Change, Delivery, Query, Target, answer, apply, deliver
from framework.websocket.clientid import ClientIdFactory
from framework.websocket.connection import Connection
from framework.websocket.registry import Registry

__all__ = ["ClusterBus", "Counters", "RegistryObserver", "TrackedRegistry", "worker_key"]

log = logging.getLogger("swoop.bus")

#: Gateway changes whose result the cluster must know, as ``index`` ops.
_INDEXED = {
    "bind_uid": "bind",
    "unbind_uid": "unbind",
    "join_group": "join",
    "leave_group": "leave",
}
#: Queries about one client that its own worker answers.
_CLIENT_QUERIES = frozenset({"is_online", "uid_by_client", "session"})


def worker_key(ids: ClientIdFactory) -> str:
    """The cluster-wide name of a worker: the common prefix of its client ids."""
    return f"{ids.node}-{ids.worker}-{ids.boot}"


class RegistryObserver(Protocol):
    def opened(self, client_id: str) -> None: ...

    def gone(self, client_id: str, uid: str | None, groups: list[str]) -> None: ...


class TrackedRegistry(Registry):
    """A :class:`Registry` that tells an observer (the bus) when connections come and go."""

    __slots__ = ("observer",)

    def __init__(self) -> None:
        super().__init__()
        self.observer: RegistryObserver | None = None

    def add(self, conn: Connection) -> None:
        super().add(conn)
        if self.observer is not None:
            self.observer.opened(conn.id)

    def remove(self, conn: Connection) -> None:
        if conn.id not in self.clients:
            return
        uid, groups = conn.uid, sorted(conn.groups)
        super().remove(conn)
        if self.observer is not None:
            self.observer.gone(conn.id, uid, groups)


class Counters:
    """What ``status`` shows of a bus; every field only grows."""

    __slots__ = ("dropped", "errors", "messages_in", "messages_out", "reconnects", "resyncs")

    def __init__(self) -> None:
        self.messages_in = 0
        self.messages_out = 0
        self.dropped = 0  # deliveries and reports that could not leave this worker
        self.reconnects = 0
        self.resyncs = 0  # full snapshots sent after a gap
        self.errors = 0  # failed requests, bad packets

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class ClusterBus:
    """The worker side of a bus across workers; subclasses provide the transport.

    Transport hooks: :meth:`_send_delivery`, :meth:`_request`, :meth:`_report`,
    :meth:`_ungroup`, :meth:`_notify` (a state report that must not wait), and set
    :attr:`connected`.
    """

    kind = "cluster"

    def __init__(self, registry: TrackedRegistry, ids: ClientIdFactory) -> None:
        self.registry = registry
        self.ids = ids
        self.worker = worker_key(ids)
        self.counters = Counters()
        self.connected = False
        self.dirty = True  # the cluster has not seen this worker's state yet
        registry.observer = self

    # -- Bus --------------------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> None:
        deliver(self.registry, delivery)
        if delivery.target is Target.CLIENT:
            remote = tuple(k for k in delivery.keys if not self.ids.is_local(k))
            if not remote:
                return
            delivery = replace(delivery, keys=remote)
        await self._send_delivery(delivery)

    async def change(self, change: Change) -> bool:
        op, args = change.op, change.args
        if op == "ungroup":
            self.registry.ungroup(args[0])
            await self._ungroup(str(args[0]))
            return True
        if self.ids.is_local(args[0]):
            return await self.apply_local(change)
        return bool(await self._request("change", op, list(args)))

    async def query(self, query: Query) -> Any:
        op, args = query.op, query.args
        if op in _CLIENT_QUERIES and self.ids.is_local(args[0]):
            return answer(self.registry, query)
        return await self._request("query", op, list(args))

    async def aclose(self) -> None:
        self.registry.observer = None

    def stats(self) -> dict[str, Any]:
        """Counters for ``status``: this worker's connections, uids and groups, bus packets
        in and out, drops, reconnects, resyncs, errors, and whether the bus is connected."""
        registry = self.registry
        return {
            "bus": self.kind,
            "worker": self.worker,
            "connected": self.connected,
            "connections": len(registry.clients),
            "uids": len(registry.uids),
            "groups": len(registry.groups),
            **self.counters.as_dict(),
        }

    # -- what the cluster asks of this worker -----------------------------------------------

    async def apply_local(self, change: Change) -> bool:
        """Apply a change to one of this worker's clients and report the new state."""
        ok = await apply(self.registry, change)
        index_op = _INDEXED.get(change.op)
        if ok and index_op is not None:
            args = list(change.args[:1]) if index_op == "unbind" else list(change.args[:2])
            await self._report(index_op, args)
        return ok

    async def handle_request(self, kind: str, op: str, args: list[Any]) -> Any:
        """Answer a request forwarded by the cluster for one of this worker's clients."""
        if kind == "change":
            return await self.apply_local(Change(op, tuple(args)))
        return answer(self.registry, Query(op, tuple(args)))

    def snapshot(self) -> list[tuple[str, str | None, list[str]]]:
        """This worker's state: ``(client id, uid, groups)`` for each connection."""
        return [(cid, c.uid, sorted(c.groups)) for cid, c in self.registry.clients.items()]

    # -- registry observer ------------------------------------------------------------------

    def opened(self, client_id: str) -> None:
        self._notify("open", [client_id])

    def gone(self, client_id: str, uid: str | None, groups: list[str]) -> None:
        self._notify("gone", [client_id, uid, groups])

    # -- transport (subclasses) -------------------------------------------------------------

    async def _send_delivery(self, delivery: Delivery) -> None:
        raise NotImplementedError

    async def _request(self, kind: str, op: str, args: list[Any]) -> Any:
        raise NotImplementedError

    async def _report(self, op: str, args: list[Any]) -> None:
        raise NotImplementedError

    async def _ungroup(self, group: str) -> None:
        raise NotImplementedError

    def _notify(self, op: str, args: list[Any]) -> None:
        raise NotImplementedError

    # -- shared helpers ---------------------------------------------------------------------

    def _dropped(self, what: str, count: int = 1) -> None:
        self.counters.dropped += count
        dropped = self.counters.dropped
        if dropped == count or dropped // 100 != (dropped - count) // 100:
            log.warning(
                "bus (%s, worker %s): %s dropped (%d dropped so far)",
                self.kind,
                self.worker,
                what,
                dropped,
            )
