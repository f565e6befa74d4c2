"""The bus across hosts: Redis (``ws.bus = "redis://host:6379/0"``, extra ``redis``).

Each worker subscribes to its own channel (``<ns>:w:<worker>``) and to ``<ns>:all``. Its
connections, uids and groups are kept in Redis hashes and sets (see
:mod:`framework.bus.redis_scripts`); a delivery to uids or groups runs one script that
publishes the frame once to each live worker holding a member, a send to a client id is
published to the channel its id names. A change or a session query for another worker's
client is published to that worker, which answers on the asker's channel.

Failures: while Redis is unreachable, local delivery keeps working, deliveries to other
workers are dropped and counted, and calls that need an answer from elsewhere raise
:class:`~framework.bus.errors.BusUnavailableError`. The subscription reconnects with
exponential backoff and resubscribes; the worker then writes its whole state again (Redis
may have restarted empty). A watchdog publishes a ping to the worker's own channel every
heartbeat: when no subscriber gets it, or it does not come back within three heartbeats,
the subscription is rebuilt. Every drop, loss and reconnection is logged at warning level
on ``swoop.bus`` and counted in :meth:`RedisBus.stats`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from redis.asyncio.client import PubSub

from framework.bus.cluster import ClusterBus, TrackedRegistry
from framework.bus.errors import BusError, BusUnavailableError, ProtocolError
from framework.bus.protocol import decode_body, delivery_from, encode_body
from framework.bus.redis_link import FAILURES, RedisLink, owner_of
from framework.websocket.bus import Delivery, deliver
from framework.websocket.clientid import ClientIdFactory

__all__ = ["RedisBus"]

log = logging.getLogger("swoop.bus")

_BACKOFF_START = 0.05


class RedisBus(ClusterBus):
    """Carry gateway operations to the workers of every host through Redis at ``url``.

    Args:
        url: ``redis://[user:password@]host:port/db`` (or ``rediss://``).
        registry, ids: this worker's tracked registry and client id factory.
        namespace: prefix of every key and channel (one per application).
        timeout: seconds to wait for Redis or another worker to answer.
        queue_size: operations queued for Redis before deliveries are dropped.
        heartbeat: seconds between heartbeats (and watchdog pings).
        ttl: seconds after its last heartbeat a worker's entries stop counting.
        backoff_max: the longest wait between two reconnection attempts.
    """

    kind = "redis"

    def __init__(
        self,
        url: str,
        registry: TrackedRegistry,
        ids: ClientIdFactory,
        *,
        namespace: str = "swoop",
        timeout: float = 5.0,
        queue_size: int = 10_000,
        heartbeat: float = 1.0,
        ttl: float = 10.0,
        backoff_max: float = 5.0,
    ) -> None:
        super().__init__(registry, ids)
        if ttl <= heartbeat:
            raise BusError(
                f"ws.bus_ttl ({ttl}) must be longer than ws.bus_heartbeat ({heartbeat})\n"
                "  fix: keep the ttl at several heartbeats (the defaults are 10.0 and 1.0)"
            )
        self.url = url
        self.link = RedisLink(url, namespace=namespace, timeout=timeout, ttl=ttl)
        self.timeout = timeout
        self.queue_size = queue_size
        self.heartbeat = heartbeat
        self.backoff_max = backoff_max
        self.channel = self.link.channel(self.worker)
        self._queue: asyncio.Queue[tuple[str, Any, asyncio.Future[Any] | None]]
        self._queue = asyncio.Queue(queue_size)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._answering: set[asyncio.Task[None]] = set()  # requests of other workers
        self._subscribed = False
        self._pubsub: PubSub | None = None
        self._reachable = False
        self._resubscribe = asyncio.Event()
        self._ping_seen = 0.0
        self._ping_seq = 0
        self._lost_at: float | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self.watchdog_trips = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe and register in the background; wait up to ``timeout`` seconds for it
        (the worker serves its own connections either way)."""
        if not self._tasks:
            for name, coro in (
                ("subscriber", self._subscriber()),
                ("writer", self._writer()),
                ("heartbeat", self._heartbeat()),
            ):
                self._tasks.append(asyncio.create_task(coro, name=f"swoop-bus-redis-{name}"))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timeout):
                await self._ready.wait()
        if not self.connected:
            log.warning("bus: Redis at %s not reachable yet; retrying in the background", self.url)

    async def aclose(self) -> None:
        """Remove this worker's entries from Redis, then disconnect."""
        tasks, self._tasks = [*self._tasks, *self._answering], []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._reachable:
            with contextlib.suppress(*FAILURES, TimeoutError):
                async with asyncio.timeout(self.timeout):
                    await self.link.ops(args=[self.link.prefix, self.worker, b'[["reset"]]'])
                    await self.link.redis.zrem(f"{self.link.prefix}workers", self.worker)
        self.connected = False
        self._fail_pending("the bus is closing")
        await self.link.aclose()
        await super().aclose()

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "watchdog_trips": self.watchdog_trips}

    def _update_connected(self) -> None:
        self.connected = self._subscribed and self._reachable
        if self.connected:
            self._wake.set()  # the writer sends the state first, then what queued
            if self._lost_at is not None:
                gap = asyncio.get_running_loop().time() - self._lost_at
                self.counters.reconnects += 1
                log.warning("bus: reconnected to Redis at %s after %.1fs", self.url, gap)
                self._lost_at = None

    def _lost(self, what: str, exc: BaseException) -> None:
        if self._lost_at is None and self._ready.is_set():
            self._lost_at = asyncio.get_running_loop().time()
            log.warning(
                "bus: lost Redis at %s (%s: %r); local delivery continues, deliveries to "
                "other workers are dropped until it is back",
                self.url,
                what,
                exc,
            )
        self._reachable = False
        self.dirty = True
        self._update_connected()
        self._fail_pending(f"lost Redis at {self.url}")

    # -- subscription -----------------------------------------------------------------------

    async def _subscriber(self) -> None:
        delay, attempts = _BACKOFF_START, 0
        while True:
            pubsub = self._pubsub = self.link.redis.pubsub()
            try:
                await self._subscribe(pubsub)
                attempts, delay = 0, _BACKOFF_START
                await self._listen(pubsub)
            except (*FAILURES, TimeoutError) as exc:
                attempts += 1
                self._lost("subscription", exc)
                if attempts % 20 == 0:
                    log.warning("bus: still no Redis at %s (%d attempts)", self.url, attempts)
            finally:
                self._subscribed = False
                self._update_connected()
                with contextlib.suppress(*FAILURES, RuntimeError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    async def _subscribe(self, pubsub: PubSub) -> None:
        await pubsub.subscribe(self.channel, self.link.all_channel)
        confirmed = 0
        async with asyncio.timeout(self.timeout):
            while confirmed < 2:  # the subscription is live once Redis confirmed it
                message = await pubsub.get_message(timeout=self.timeout)
                if message is not None and message["type"] == "subscribe":
                    confirmed += 1
        self._resubscribe.clear()
        self._ping_seen = asyncio.get_running_loop().time()
        self._subscribed = True
        self._update_connected()
        self._wake.set()

    async def _listen(self, pubsub: PubSub) -> None:
        while not self._resubscribe.is_set():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message is None or message["type"] != "message":
                continue
            self.counters.messages_in += 1
            try:
                self._on_message(message["data"])
            except ProtocolError as exc:
                self.counters.errors += 1
                log.warning("bus: bad packet on %s: %s", self.channel, exc)

    def _on_message(self, data: bytes) -> None:
        packet = decode_body(data)
        header, kind = packet.header, packet.type
        if kind == "deliver":
            if header.get("origin") != self.worker:
                deliver(self.registry, delivery_from(packet))
        elif kind == "reply":
            future = self._pending.pop(header.get("id"), None)  # type: ignore[arg-type]
            if future is not None and not future.done():
                if header.get("ok"):
                    future.set_result(header.get("value"))
                else:
                    future.set_exception(BusError(str(header.get("error"))))
        elif kind == "req":
            task = asyncio.create_task(self._answer(header))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
        elif kind == "ungroup":
            self.registry.ungroup(str(header.get("group")))
        elif kind == "ping":
            if header.get("origin") == self.worker:
                self._ping_seen = asyncio.get_running_loop().time()
        else:
            raise ProtocolError(f"unknown packet type {kind!r}")

    async def _answer(self, header: dict[str, Any]) -> None:
        try:
            value = await self.handle_request(header["kind"], header["op"], header["args"])
            reply = {"t": "reply", "id": header.get("id"), "ok": True, "value": value}
        except Exception as exc:
            self.counters.errors += 1
            reply = {"t": "reply", "id": header.get("id"), "ok": False, "error": repr(exc)}
        reply_to = header.get("reply_to")
        if isinstance(reply_to, str):
            self._enqueue("publish", (self.link.channel(reply_to), encode_body(reply)), None)

    # -- heartbeat and watchdog -------------------------------------------------------------

    async def _heartbeat(self) -> None:
        loop = asyncio.get_running_loop()
        stale_after = max(3 * self.heartbeat, 1.0)
        while True:
            try:
                async with asyncio.timeout(self.timeout):
                    added, dead = await self.link.beat(
                        args=[self.link.prefix, self.worker, self.link.ttl_ms]
                    )
                if added and self._reachable:
                    log.warning(
                        "bus: Redis at %s lost worker %s's state (restarted, or this worker "
                        "missed its heartbeats); sending it again",
                        self.url,
                        self.worker,
                    )
                if added:
                    self.dirty = True
                    self._wake.set()
                if dead:
                    log.warning("bus: removed %d dead worker(s) from Redis", dead)
                self._reachable = True
                self._update_connected()
                if self._subscribed:
                    await self._watchdog(loop.time(), stale_after)
            except (*FAILURES, TimeoutError) as exc:
                self._lost("heartbeat", exc)
            await asyncio.sleep(self.heartbeat)

    async def _watchdog(self, now: float, stale_after: float) -> None:
        self._ping_seq += 1
        ping = encode_body({"t": "ping", "origin": self.worker, "seq": self._ping_seq})
        receivers = await self.link.redis.publish(self.channel, ping)
        if receivers == 0 or now - self._ping_seen > stale_after:
            self.watchdog_trips += 1
            log.warning(
                "bus: the Redis subscription of worker %s stopped delivering (watchdog); "
                "resubscribing",
                self.worker,
            )
            self._resubscribe.set()

    # -- writer: every write to Redis, in order ---------------------------------------------

    async def _writer(self) -> None:
        queue = self._queue
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await self._wake.wait()
            self._wake.clear()
            if self.dirty and self.connected:
                await self._resync()
            while not queue.empty() and self.connected:
                batch = [queue.get_nowait()]
                while not queue.empty() and len(batch) < 256:
                    batch.append(queue.get_nowait())
                await self._flush(batch)

    async def _flush(self, batch: list[tuple[str, Any, asyncio.Future[Any] | None]]) -> None:
        async with self.link.redis.pipeline(transaction=False) as pipe:
            await self._flush_with(pipe, batch)

    async def _flush_with(
        self, pipe: Any, batch: list[tuple[str, Any, asyncio.Future[Any] | None]]
    ) -> None:
        link = self.link
        ops: list[Any] = []
        acked: list[asyncio.Future[Any]] = []
        counted: list[tuple[int, asyncio.Future[Any]]] = []  # (command index, future)

        async def flush_ops() -> None:
            if ops:
                await link.ops(args=[link.prefix, self.worker, orjson.dumps(ops)], client=pipe)
                ops.clear()

        for kind, payload, future in batch:
            if kind == "op":
                ops.append(payload)
                if future is not None:
                    acked.append(future)
                continue
            await flush_ops()
            if kind == "publish":
                channel, body = payload
                if future is not None:
                    counted.append((len(pipe.command_stack), future))
                pipe.publish(channel, body)
            else:
                await link.deliver(payload, self.worker, client=pipe)
        await flush_ops()
        try:
            async with asyncio.timeout(self.timeout):
                replies = await pipe.execute(raise_on_error=False)
        except (*FAILURES, TimeoutError) as exc:
            self._dropped(f"{len(batch)} operation(s) for Redis", len(batch))
            self._lost("write", exc)
            replies = None
        else:
            self.counters.messages_out += len(batch)
        for future in acked:
            if not future.done():
                future.set_result(replies is not None)
        for index, future in counted:
            if not future.done():
                receivers = replies[index] if replies is not None else 0
                future.set_result(receivers if isinstance(receivers, int) else 0)

    async def _resync(self) -> None:
        """Write this worker's whole state, replacing what Redis had of it."""
        link = self.link
        queue = self._queue
        stale: list[asyncio.Future[Any]] = []
        keep = []
        while not queue.empty():  # the snapshot already holds what queued ops would write
            item = queue.get_nowait()
            if item[0] != "op":
                keep.append(item)
            elif item[2] is not None:
                stale.append(item[2])
        for item in keep:
            queue.put_nowait(item)
        self.dirty = False
        entries = [["add", cid, uid, groups] for cid, uid, groups in self.snapshot()]
        chunks = [[["reset"]]] + [entries[i : i + 1000] for i in range(0, len(entries), 1000)]
        try:
            async with asyncio.timeout(self.timeout * max(1, len(chunks) // 10)):
                async with link.redis.pipeline(transaction=True) as pipe:
                    for chunk in chunks:
                        await link.ops(
                            args=[link.prefix, self.worker, orjson.dumps(chunk)], client=pipe
                        )
                    await pipe.execute()
        except (*FAILURES, TimeoutError) as exc:
            self._lost("resync", exc)
        else:
            self.counters.resyncs += 1
            self._ready.set()
            log.info(
                "bus: worker %s wrote its %d connection(s) to Redis", self.worker, len(entries)
            )
        for future in stale:
            if not future.done():
                future.set_result(True)

    # -- transport hooks --------------------------------------------------------------------

    def _enqueue(self, kind: str, payload: Any, future: asyncio.Future[Any] | None) -> bool:
        try:
            self._queue.put_nowait((kind, payload, future))
        except asyncio.QueueFull:
            return False
        self._wake.set()
        return True

    async def _send_delivery(self, delivery: Delivery) -> None:
        if not self.connected:
            self._dropped("a delivery to other workers (Redis not connected)")
        elif not self._enqueue("deliver", delivery, None):
            self._dropped("a delivery to other workers (queue to Redis full)")

    def _notify(self, op: str, args: list[Any]) -> None:
        # while dirty, the op still queues: the writer resyncs first, and drops the ops the
        # snapshot already holds
        if not self.connected or not self._enqueue("op", [op, *args], None):
            self.dirty = True

    async def _report(self, op: str, args: list[Any]) -> None:
        """Write a change of this worker's state and wait for Redis to have it."""
        if not self.connected:
            self.dirty = True
            return
        future = asyncio.get_running_loop().create_future()
        if not self._enqueue("op", [op, *args], future):
            self.dirty = True
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timeout):
                await future

    async def _ungroup(self, group: str) -> None:
        self._check("ungroup")
        try:
            async with asyncio.timeout(self.timeout):
                await self.link.ungroup(group, self.worker)
        except (*FAILURES, TimeoutError) as exc:
            raise self._unavailable("ungroup", exc) from exc

    async def _request(self, kind: str, op: str, args: list[Any]) -> Any:
        self._check(op)
        if kind == "query" and op != "session":
            try:
                async with asyncio.timeout(self.timeout):
                    return await self.link.query(op, args)
            except (*FAILURES, TimeoutError) as exc:
                raise self._unavailable(op, exc) from exc
        return await self._askowner_of(kind, op, args)

    async def _askowner_of(self, kind: str, op: str, args: list[Any]) -> Any:
        default = False if kind == "change" else None
        if len(self._pending) >= self.queue_size:
            raise BusUnavailableError(f"cannot {op}: too many requests in flight")
        self._next_id += 1
        request_id = self._next_id
        header = {
            "t": "req",
            "id": request_id,
            "kind": kind,
            "op": op,
            "args": args,
            "reply_to": self.worker,
        }
        try:
            body = encode_body(header)
        except TypeError as exc:
            raise BusError(f"cannot {op}: arguments are not JSON-serialisable: {exc}") from exc
        loop = asyncio.get_running_loop()
        sent: asyncio.Future[Any] = loop.create_future()
        reply = self._pending[request_id] = loop.create_future()
        try:
            if not self._enqueue("publish", (self.link.channel(owner_of(args[0])), body), sent):
                raise BusUnavailableError(f"cannot {op}: the queue to Redis is full")
            async with asyncio.timeout(self.timeout):
                if not await sent:  # nobody listens on that worker's channel: it is gone
                    return default
                return await reply
        except TimeoutError:
            self.counters.errors += 1
            raise BusUnavailableError(
                f"{op}: no answer within {self.timeout}s from worker {owner_of(args[0])} via Redis"
            ) from None
        finally:
            self._pending.pop(request_id, None)

    # -- helpers ----------------------------------------------------------------------------

    def _check(self, what: str) -> None:
        if not self.connected:
            raise BusUnavailableError(
                f"cannot {what}: Redis at {self.url} is not connected (the bus is reconnecting)"
            )

    def _unavailable(self, what: str, exc: BaseException) -> BusUnavailableError:
        self.counters.errors += 1
        return BusUnavailableError(f"cannot {what}: Redis at {self.url} failed: {exc!r}")

    def _fail_pending(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(BusUnavailableError(why))
