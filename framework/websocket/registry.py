"""The connections of one worker: by client id, by uid and by group.

Deliveries write one already-encoded frame into each target connection (see
:meth:`Connection.push`): a broadcast encodes once and never awaits per client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from framework.websocket.connection import Connection, Outgoing

__all__ = ["Registry"]


class Registry:
    """Local state behind the gateway: who is connected, bound to which uid, in which group.

    A uid may have several connections (several tabs); a connection has at most one uid
    (binding another replaces it), as in GatewayWorker.
    """

    __slots__ = ("clients", "groups", "uids")

    def __init__(self) -> None:
        self.clients: dict[str, Connection] = {}
        self.uids: dict[str, dict[str, Connection]] = {}
        self.groups: dict[str, dict[str, Connection]] = {}

    def __len__(self) -> int:
        return len(self.clients)

    def add(self, conn: Connection) -> None:
        self.clients[conn.id] = conn

    def remove(self, conn: Connection) -> None:
        """Forget a closed connection: its uid binding and group memberships go with it."""
        if self.clients.pop(conn.id, None) is None:
            return
        if conn.uid is not None:
            self._unbind(conn, conn.uid)
        for group in list(conn.groups):
            self._leave(conn, group)

    # -- state ------------------------------------------------------------------------------

    def bind_uid(self, client_id: str, uid: str) -> bool:
        conn = self.clients.get(client_id)
        if conn is None:
            return False
        if conn.uid is not None and conn.uid != uid:
            self._unbind(conn, conn.uid)
        conn.uid = uid
        self.uids.setdefault(uid, {})[client_id] = conn
        return True

    def unbind_uid(self, client_id: str, uid: str | None = None) -> bool:
        conn = self.clients.get(client_id)
        if conn is None or conn.uid is None or (uid is not None and conn.uid != uid):
            return False
        self._unbind(conn, conn.uid)
        return True

    def _unbind(self, conn: Connection, uid: str) -> None:
        members = self.uids.get(uid)
        if members is not None:
            members.pop(conn.id, None)
            if not members:
                del self.uids[uid]
        conn.uid = None

    def join_group(self, client_id: str, group: str) -> bool:
        conn = self.clients.get(client_id)
        if conn is None:
            return False
        self.groups.setdefault(group, {})[client_id] = conn
        conn.groups.add(group)
        return True

    def leave_group(self, client_id: str, group: str) -> bool:
        conn = self.clients.get(client_id)
        if conn is None or group not in conn.groups:
            return False
        self._leave(conn, group)
        return True

    def _leave(self, conn: Connection, group: str) -> None:
        members = self.groups.get(group)
        if members is not None:
            members.pop(conn.id, None)
            if not members:
                del self.groups[group]
        conn.groups.discard(group)

    def ungroup(self, group: str) -> None:
        """Dissolve ``group``: its members stay connected and leave it."""
        for conn in (self.groups.pop(group, None) or {}).values():
            conn.groups.discard(group)

    # -- deliveries -------------------------------------------------------------------------

    def to_clients(self, client_ids: Iterable[str], frame: str | bytes) -> int:
        clients, sent, out = self.clients, 0, Outgoing(frame)
        for client_id in client_ids:
            conn = clients.get(client_id)
            if conn is not None and conn.push_out(out):
                sent += 1
        return sent

    def to_uids(self, uids: Iterable[str], frame: str | bytes) -> int:
        sent, seen, out = 0, set(), Outgoing(frame)
        for uid in uids:
            for conn in list(self.uids.get(uid, {}).values()):
                if conn.id not in seen:
                    seen.add(conn.id)
                    sent += conn.push_out(out)
        return sent

    def to_groups(
        self, groups: Iterable[str], frame: str | bytes, exclude: frozenset[str] = frozenset()
    ) -> int:
        names = list(groups)
        if len(names) == 1:  # the common case: no set of seen ids to build
            members = self.groups.get(names[0])
            return 0 if members is None else _push_all(list(members.values()), frame, exclude)
        sent, seen, out = 0, set(exclude), Outgoing(frame)
        for name in names:
            for conn in list(self.groups.get(name, {}).values()):
                if conn.id not in seen:
                    seen.add(conn.id)
                    sent += conn.push_out(out)
        return sent

    def to_all(self, frame: str | bytes, exclude: frozenset[str] = frozenset()) -> int:
        return _push_all(list(self.clients.values()), frame, exclude)

    # -- queries ----------------------------------------------------------------------------

    def is_online(self, client_id: str) -> bool:
        return client_id in self.clients

    def client_ids_by_uid(self, uid: str) -> list[str]:
        return list(self.uids.get(uid, ()))

    def uid_by_client(self, client_id: str) -> str | None:
        conn = self.clients.get(client_id)
        return None if conn is None else conn.uid

    def group_client_ids(self, group: str) -> list[str]:
        return list(self.groups.get(group, ()))

    def group_count(self, group: str) -> int:
        return len(self.groups.get(group, ()))

    def session(self, client_id: str) -> dict[str, Any] | None:
        conn = self.clients.get(client_id)
        return None if conn is None else conn.session


def _push_all(conns: list[Connection], frame: str | bytes, exclude: frozenset[str]) -> int:
    sent, out = 0, Outgoing(frame)
    if exclude:
        for conn in conns:
            if conn.id not in exclude and conn.push_out(out):
                sent += 1
    else:
        for conn in conns:
            if conn.push_out(out):
                sent += 1
    return sent
