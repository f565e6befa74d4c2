"""A business worker's bus: the Gateway API over the links to the gateways.

In a split server the connections live in the gateways, and every business worker is
linked to every gateway of its host. :class:`LinkedBus` sends what concerns a gateway's
clients over that link, in order with the replies and pushes of the handlers (a
``send_to_group`` made by a handler reaches the sender before the handler's reply, as
without the split):

- a change or question about one client goes to the gateway its client id names;
- sends to uids, groups or everyone, and questions about them, go to every gateway (each
  answers for its own connections; answers are merged) while every gateway is linked;
- otherwise (a gateway not linked yet, or ``ws.bus`` is Redis: gateways on other hosts)
  they go through the ``inner`` bus (the hub or Redis), which reaches every gateway too.

The changes this worker makes to a connection it serves are mirrored in its
:class:`~.connection.LinkedConnection` (``uid``, ``groups``, ``session``), so a handler
reads what it just wrote, as without the split.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from framework.websocket.bus import Bus, Change, Delivery, Query, Target, merge
from framework.websocket.split.business import BusinessNode, delivery_packet
from framework.websocket.split.uplink import GatewayLink

__all__ = ["LinkedBus"]

_CLIENT_QUERIES = frozenset({"is_online", "uid_by_client", "session"})


class LinkedBus:
    """The :class:`~framework.websocket.bus.Bus` of a business worker (see module docs)."""

    kind = "split"

    def __init__(self, inner: Bus, node: BusinessNode) -> None:
        self.inner = inner
        self.node = node
        self._remote_hosts = getattr(inner, "kind", "local") == "redis"

    @property
    def _linked(self) -> bool:
        """Whether the links reach every connection (all gateways of a one-host cluster)."""
        return not self._remote_hosts and self.node.complete

    async def start(self) -> None:
        start = getattr(self.inner, "start", None)
        if start is not None:
            await start()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def stats(self) -> dict[str, Any]:
        inner = getattr(self.inner, "stats", None)
        found: dict[str, Any] = dict(inner()) if callable(inner) else {}
        found["split"] = self.node.stats()
        return found

    # -- Bus --------------------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> None:
        node = self.node
        if delivery.target is Target.CLIENT:
            by_link: dict[GatewayLink, list[str]] = {}
            rest: list[str] = []
            for key in delivery.keys:
                link = node.owner(key)
                if link is None:
                    rest.append(key)
                else:
                    by_link.setdefault(link, []).append(key)
            for link, keys in by_link.items():
                data = delivery_packet(replace(delivery, keys=tuple(keys)))
                if data is not None:
                    link.deliver(data)
            if rest and not self._linked:
                await self.inner.deliver(replace(delivery, keys=tuple(rest)))
            return
        if self._linked:
            data = delivery_packet(delivery)
            if data is not None:
                for link in node.links:
                    link.deliver(data)
            return
        await self.inner.deliver(delivery)

    async def change(self, change: Change) -> bool:
        op, args = change.op, change.args
        if op == "ungroup":
            if self._linked:
                await self._everywhere("change", op, list(args))
                return True
            return await self.inner.change(change)
        link = self.node.owner(args[0])
        if link is not None:
            ok = bool(await link.request("change", op, list(args)))
        elif self._linked:
            ok = False  # no gateway of this host has the client
        else:
            ok = await self.inner.change(change)
        if ok:
            self._mirror(change)
        return ok

    async def query(self, query: Query) -> Any:
        op, args = query.op, query.args
        if op in _CLIENT_QUERIES:
            link = self.node.owner(args[0])
            if link is not None:
                return await link.request("query", op, list(args))
            if self._linked:
                return merge(query, [])
            return await self.inner.query(query)
        if self._linked:
            return merge(query, await self._everywhere("query", op, list(args)))
        return await self.inner.query(query)

    async def _everywhere(self, kind: str, op: str, args: list[Any]) -> list[Any]:
        asks = (link.request(kind, op, args) for link in self.node.links)
        return list(await asyncio.gather(*asks))

    def _mirror(self, change: Change) -> None:
        conn = self.node.proxies.get(change.args[0])
        if conn is None:
            return
        op, args = change.op, change.args
        if op == "bind_uid":
            conn.uid = args[1]
        elif op == "unbind_uid":
            conn.uid = None
        elif op == "join_group":
            conn.groups.add(args[1])
        elif op == "leave_group":
            conn.groups.discard(args[1])
        elif op in ("set_session", "update_session"):
            if op == "set_session":
                conn.session.clear()
            conn.session.update(args[1])
