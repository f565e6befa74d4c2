"""The bus: how gateway operations reach the worker(s) holding the connections.

Every gateway call becomes one of three plain, serialisable values: :class:`Delivery` (send a
frame to clients, uids, groups or everyone), :class:`Change` (bind a uid, join a group,
close a client, write a session ...) or :class:`Query` (presence, members, counts, sessions).
A :class:`Bus` carries them. Within one worker, :class:`InProcessBus` applies them to the
worker's :class:`~framework.websocket.registry.Registry` directly. :mod:`framework.bus` adds
a hub in the master (several workers on one host) and Redis (several hosts) behind the same
protocol (:func:`framework.bus.factory.build_bus` chooses from ``ws.bus``): a delivery goes
to every worker concerned, a query is answered from the cluster's state, which is why the
gateway's queries are ``async``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from framework.websocket.registry import Registry

__all__ = ["Bus", "Change", "Delivery", "InProcessBus", "Query", "Target", "apply", "merge"]


class Target(enum.Enum):
    CLIENT = "client"
    UID = "uid"
    GROUP = "group"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Delivery:
    """Send ``frame`` to the connections named by ``target`` and ``keys``, but ``exclude``."""

    target: Target
    keys: tuple[str, ...]
    frame: str | bytes
    exclude: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Change:
    """A state change: ``op`` is a :class:`Registry`-level operation name (``bind_uid``,
    ``unbind_uid``, ``join_group``, ``leave_group``, ``ungroup``, ``close``,
    ``set_session``, ``update_session``); ``args`` its arguments (the client id first, except
    for ``ungroup``)."""

    op: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Query:
    """A question about connections: ``op`` is ``is_online``, ``is_uid_online``,
    ``client_ids_by_uid``, ``uid_by_client``, ``group_client_ids``, ``group_count``,
    ``all_count`` or ``session``."""

    op: str
    args: tuple[Any, ...] = ()


class Bus(Protocol):
    """Carries gateway operations to the workers that hold the connections."""

    async def deliver(self, delivery: Delivery) -> None:
        """Deliver to every worker that has a target connection (never waits for clients)."""
        ...

    async def change(self, change: Change) -> bool:
        """Apply a change where its client lives; ``False``: no such client (or group)."""
        ...

    async def query(self, query: Query) -> Any:
        """Ask every worker concerned and :func:`merge` their answers."""
        ...

    async def aclose(self) -> None:
        """Stop carrying operations (the worker is stopping)."""
        ...


def deliver(registry: Registry, delivery: Delivery) -> int:
    """Apply a delivery to one worker's registry; the number of connections written to."""
    target, frame = delivery.target, delivery.frame
    if target is Target.ALL:
        return registry.to_all(frame, delivery.exclude)
    if target is Target.GROUP:
        return registry.to_groups(delivery.keys, frame, delivery.exclude)
    if target is Target.UID:
        return registry.to_uids(delivery.keys, frame)
    return registry.to_clients(delivery.keys, frame)


async def apply(registry: Registry, change: Change) -> bool:
    """Apply a change to one worker's registry."""
    op, args = change.op, change.args
    if op == "close":
        conn = registry.clients.get(args[0])
        if conn is None:
            return False
        await conn.close(*args[1:])
        return True
    if op == "ungroup":
        registry.ungroup(args[0])
        return True
    if op in ("set_session", "update_session"):
        session = registry.session(args[0])
        if session is None:
            return False
        if op == "set_session":
            session.clear()
        session.update(args[1])
        return True
    method = getattr(registry, op)
    return bool(method(*args))


def answer(registry: Registry, query: Query) -> Any:
    """One worker's answer to a query."""
    op, args = query.op, query.args
    if op == "all_count":
        return len(registry)
    if op == "is_uid_online":
        return args[0] in registry.uids
    if op == "session":
        session = registry.session(args[0])
        return None if session is None else dict(session)
    return getattr(registry, op)(*args)


def merge(query: Query, answers: list[Any]) -> Any:
    """Combine the answers of several workers to one query."""
    op = query.op
    if op in ("is_online", "is_uid_online"):
        return any(answers)
    if op in ("group_count", "all_count"):
        return sum(answers)
    if op in ("client_ids_by_uid", "group_client_ids"):
        return [item for found in answers for item in found]
    return next((a for a in answers if a is not None), None)


class InProcessBus:
    """The bus of a single worker: every operation is applied to its own registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def deliver(self, delivery: Delivery) -> None:
        deliver(self.registry, delivery)

    async def change(self, change: Change) -> bool:
        return await apply(self.registry, change)

    async def query(self, query: Query) -> Any:
        return answer(self.registry, query)

    async def aclose(self) -> None:
        return None

    def stats(self) -> dict[str, Any]:
        """Counters for ``status`` (the same keys as the buses across workers)."""
        registry = self.registry
        return {
            "bus": "local",
            "connected": True,
            "connections": len(registry.clients),
            "uids": len(registry.uids),
            "groups": len(registry.groups),
            "messages_in": 0,
            "messages_out": 0,
            "dropped": 0,
            "reconnects": 0,
            "resyncs": 0,
            "errors": 0,
        }
