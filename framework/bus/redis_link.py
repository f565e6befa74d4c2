"""Redis as the bus sees it: the scripts and channels of one application's namespace, and a
push client's link (sends, queries and requests without holding connections).

Keys and channels are described in :mod:`framework.bus.redis_scripts`; the worker side is
:class:`~framework.bus.redis_bus.RedisBus`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from framework.bus import redis_scripts
from framework.bus.errors import BusError, BusUnavailableError
from framework.bus.protocol import decode_body, delivery_body, encode_body
from framework.websocket.bus import Delivery, Target

__all__ = ["FAILURES", "RedisLink", "RedisPushTransport", "owner_of"]

#: What a lost or refusing Redis raises.
FAILURES = (RedisError, OSError)


def owner_of(client_id: str) -> str:
    """The worker key a client id names (its prefix)."""
    return client_id.rsplit("-", 1)[0]


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value


class RedisLink:
    """The scripts and channels of one application's namespace on one Redis server; shared
    by workers and push clients."""

    def __init__(self, url: str, *, namespace: str, timeout: float, ttl: float) -> None:
        self.url = url
        self.prefix = f"{namespace}:"
        self.ttl_ms = int(ttl * 1000)
        self.redis = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=min(timeout, 2.0),
            # one immediate retry replaces a pooled connection Redis closed (a restart); beyond
            # that the bus fails fast and reconnects by itself
            retry=Retry(NoBackoff(), 1),
            client_name=f"swoop-bus-{namespace}",
        )
        r = self.redis
        self.ops = r.register_script(redis_scripts.OPS)
        self.beat = r.register_script(redis_scripts.BEAT)
        self.route_script = r.register_script(redis_scripts.ROUTE)
        self.ungroup_script = r.register_script(redis_scripts.UNGROUP)
        self.query_script = r.register_script(redis_scripts.QUERY)

    def channel(self, worker: str) -> str:
        return f"{self.prefix}w:{worker}"

    @property
    def all_channel(self) -> str:
        return f"{self.prefix}all"

    async def deliver(self, delivery: Delivery, origin: str | None, client: Any = None) -> None:
        """Publish ``delivery`` to the live workers holding a target (not ``origin``)."""
        r = client if client is not None else self.redis
        body = delivery_body(delivery, origin)
        target = delivery.target
        if target is Target.ALL:
            await r.publish(self.all_channel, body)
        elif target is Target.CLIENT:
            for worker in {owner_of(k) for k in delivery.keys} - {origin}:
                await r.publish(self.channel(worker), body)
        else:
            kind = "u" if target is Target.UID else "g"
            args: list[Any] = [self.prefix, origin or "", self.ttl_ms, kind, body, *delivery.keys]
            await self.route_script(args=args, client=r)

    async def ungroup(self, group: str, origin: str | None) -> None:
        body = encode_body({"t": "ungroup", "group": group})
        await self.ungroup_script(args=[self.prefix, origin or "", self.ttl_ms, group, body])

    async def query(self, op: str, args: list[Any]) -> Any:
        """Answer a gateway query from Redis (not ``session``: only the worker knows)."""
        key = str(args[0]) if args else ""
        script_args: list[Any] = [self.prefix, self.ttl_ms, op, key]
        if op in ("is_online", "uid_by_client"):
            script_args.append(owner_of(key))
        value = _text(await self.query_script(args=script_args))
        if op in ("is_online", "is_uid_online"):
            return bool(value)
        if op == "uid_by_client":
            return value or None
        return value

    async def aclose(self) -> None:
        with contextlib.suppress(*FAILURES):
            await self.redis.aclose()


class RedisPushTransport:
    """A push client's link to Redis: scripts for sends and queries; a private channel,
    subscribed on first need, for the answers of workers to changes and session queries."""

    def __init__(self, url: str, *, namespace: str, timeout: float, ttl: float) -> None:
        self.link = RedisLink(url, namespace=namespace, timeout=timeout, ttl=ttl)
        self.timeout = timeout
        self.name = f"push-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._pubsub: PubSub | None = None
        self._lock = asyncio.Lock()
        self._next_id = 0

    async def deliver(self, delivery: Delivery) -> None:
        await self._guard("send", self.link.deliver(delivery, None))

    async def request(self, kind: str, op: str, args: list[Any]) -> Any:
        if kind == "change" and op == "ungroup":
            return await self._guard(op, self.link.ungroup(str(args[0]), None))
        if kind == "query" and op != "session":
            return await self._guard(op, self.link.query(op, args))
        async with self._lock:
            return await self._guard(op, self._ask(kind, op, args))

    async def _ask(self, kind: str, op: str, args: list[Any]) -> Any:
        pubsub = self._pubsub
        if pubsub is None:
            pubsub = self.link.redis.pubsub()
            await pubsub.subscribe(self.link.channel(self.name))
            while (await pubsub.get_message(timeout=self.timeout)) is None:
                pass  # the subscription confirmation
            self._pubsub = pubsub
        self._next_id += 1
        header = {"t": "req", "id": self._next_id, "kind": kind, "op": op, "args": args}
        try:
            body = encode_body({**header, "reply_to": self.name})
        except TypeError as exc:
            raise BusError(f"cannot {op}: arguments are not JSON-serialisable: {exc}") from exc
        if not await self.link.redis.publish(self.link.channel(owner_of(str(args[0]))), body):
            return False if kind == "change" else None
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message["type"] != "message":
                continue
            reply = decode_body(message["data"]).header
            if reply.get("t") == "reply" and reply.get("id") == self._next_id:
                if not reply.get("ok"):
                    raise BusError(str(reply.get("error")))
                return reply.get("value")

    async def _guard(self, what: str, coro: Any) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                return await coro
        except (*FAILURES, TimeoutError) as exc:
            await self._drop_pubsub()
            raise BusUnavailableError(
                f"cannot {what}: Redis at {self.link.url} failed or did not answer: {exc!r}"
            ) from exc

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(*FAILURES, RuntimeError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        await self._drop_pubsub()
        await self.link.aclose()
