"""The cluster's connection state as the hub keeps it: which worker holds which client id,
which uid and groups each client has (sans-IO, plain dicts).

Workers report every change of their own connections (:meth:`Directory.apply`); the hub
answers presence questions from here and routes deliveries only to the workers that hold a
target. Each uid and group keeps a count of members per worker, so routing a group send
costs one step per worker, not per member.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from framework.websocket.bus import Target

__all__ = ["Directory", "Index"]


@dataclass(slots=True)
class _Client:
    worker: str
    uid: str | None = None
    groups: set[str] = field(default_factory=set)


class Index:
    """Members of named sets (uids or groups), with how many members each worker holds."""

    __slots__ = ("holders", "members")

    def __init__(self) -> None:
        self.members: dict[str, dict[str, str]] = {}  # key -> {client id: worker}
        self.holders: dict[str, dict[str, int]] = {}  # key -> {worker: members there}

    def __len__(self) -> int:
        return len(self.members)

    def add(self, key: str, client_id: str, worker: str) -> None:
        members = self.members.setdefault(key, {})
        if client_id not in members:
            members[client_id] = worker
            holders = self.holders.setdefault(key, {})
            holders[worker] = holders.get(worker, 0) + 1

    def remove(self, key: str, client_id: str) -> None:
        members = self.members.get(key)
        if members is None or (worker := members.pop(client_id, None)) is None:
            return
        holders = self.holders[key]
        holders[worker] -= 1
        if not holders[worker]:
            del holders[worker]
        if not members:
            del self.members[key], self.holders[key]

    def drop(self, key: str) -> dict[str, str]:
        """Remove ``key`` altogether; its former members."""
        self.holders.pop(key, None)
        return self.members.pop(key, None) or {}

    def ids(self, key: str) -> list[str]:
        return list(self.members.get(key, ()))

    def count(self, key: str) -> int:
        return len(self.members.get(key, ()))

    def workers(self, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for key in keys:
            found.update(self.holders.get(key, ()))
        return found


class Directory:
    """Every connection of the cluster, by client id, uid and group."""

    __slots__ = ("clients", "groups", "uids", "workers")

    def __init__(self) -> None:
        self.clients: dict[str, _Client] = {}
        self.workers: dict[str, set[str]] = {}  # worker key -> its client ids
        self.uids = Index()
        self.groups = Index()

    # -- changes reported by workers --------------------------------------------------------

    def apply(self, worker: str, op: str, args: list[Any]) -> bool:
        """Apply one ``index`` packet of ``worker``; ``False`` for an unknown op or client."""
        if op == "open":
            self.open(worker, args[0])
            return True
        client = self.clients.get(args[0])
        if client is None or client.worker != worker:
            return False
        client_id = args[0]
        if op == "gone":
            self.gone(client_id)
        elif op == "bind":
            self._unbind(client_id, client)
            client.uid = str(args[1])
            self.uids.add(client.uid, client_id, worker)
        elif op == "unbind":
            self._unbind(client_id, client)
        elif op == "join":
            client.groups.add(str(args[1]))
            self.groups.add(str(args[1]), client_id, worker)
        elif op == "leave":
            client.groups.discard(str(args[1]))
            self.groups.remove(str(args[1]), client_id)
        else:
            return False
        return True

    def open(self, worker: str, client_id: str) -> None:
        if client_id in self.clients:
            self.gone(client_id)
        self.clients[client_id] = _Client(worker)
        self.workers.setdefault(worker, set()).add(client_id)

    def gone(self, client_id: str) -> None:
        client = self.clients.pop(client_id, None)
        if client is None:
            return
        self._unbind(client_id, client)
        for group in client.groups:
            self.groups.remove(group, client_id)
        held = self.workers.get(client.worker)
        if held is not None:
            held.discard(client_id)

    def _unbind(self, client_id: str, client: _Client) -> None:
        if client.uid is not None:
            self.uids.remove(client.uid, client_id)
            client.uid = None

    def load(self, worker: str, entries: Iterable[Any]) -> None:
        """Replace everything of ``worker`` with a snapshot ``[[id, uid, [groups]], ...]``."""
        self.drop_worker(worker)
        self.workers[worker] = set()
        for client_id, uid, groups in entries:
            self.open(worker, client_id)
            if uid is not None:
                self.apply(worker, "bind", [client_id, uid])
            for group in groups:
                self.apply(worker, "join", [client_id, group])

    def drop_worker(self, worker: str) -> int:
        """Forget every connection of a worker that left; how many there were."""
        held = self.workers.pop(worker, set())
        for client_id in held:
            self.gone(client_id)
        return len(held)

    def ungroup(self, group: str) -> set[str]:
        """Dissolve ``group``; the workers that held members."""
        members = self.groups.drop(group)
        for client_id in members:
            client = self.clients.get(client_id)
            if client is not None:
                client.groups.discard(group)
        return set(members.values())

    # -- questions --------------------------------------------------------------------------

    def owner(self, client_id: str) -> str | None:
        client = self.clients.get(client_id)
        return None if client is None else client.worker

    def route(self, target: Target, keys: Iterable[str], origin: str | None) -> set[str]:
        """The workers that hold a target of a delivery, except ``origin``."""
        if target is Target.CLIENT:
            found = {w for w in map(self.owner, keys) if w is not None}
        elif target is Target.UID:
            found = self.uids.workers(keys)
        elif target is Target.GROUP:
            found = self.groups.workers(keys)
        else:
            found = {w for w, held in self.workers.items() if held}
        if origin is not None:
            found.discard(origin)
        return found

    def answer(self, op: str, args: list[Any]) -> Any:
        """The answer to a gateway query (see :class:`~framework.websocket.bus.Query`).

        Raises:
            KeyError: ``op`` is not a query the directory can answer.
        """
        if op == "all_count":
            return len(self.clients)
        key = args[0]
        if op == "is_online":
            return key in self.clients
        if op == "uid_by_client":
            client = self.clients.get(key)
            return None if client is None else client.uid
        if op == "is_uid_online":
            return key in self.uids.members
        if op == "client_ids_by_uid":
            return self.uids.ids(key)
        if op == "group_client_ids":
            return self.groups.ids(key)
        if op == "group_count":
            return self.groups.count(key)
        raise KeyError(op)
