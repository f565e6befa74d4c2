"""The worker side of the hub: a :class:`~framework.websocket.bus.Bus` over the hub's socket.

One connection per worker, kept open by a background task that reconnects with exponential
backoff (``0.05`` s doubling up to ``backoff_max``) and, on every (re)connection, sends the
worker's whole state first (the hub forgot it when the connection dropped). Everything
this worker sends goes through one bounded queue (``queue_size`` packets), in order:
a delivery that does not fit is dropped and counted; a state report that does not fit
marks the worker dirty, and a snapshot replaces it as soon as there is room.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from typing import Any

import anyio
from anyio.abc import SocketStream

from framework.bus.cluster import ClusterBus, TrackedRegistry
from framework.bus.errors import BusError, BusUnavailableError, ProtocolError
from framework.bus.hub import check_socket_path
from framework.bus.protocol import (
    Packet,
    PacketDecoder,
    delivery_body,
    delivery_from,
    encode,
    frame,
    snapshot_payload,
)
from framework.websocket.bus import Delivery, deliver
from framework.websocket.clientid import ClientIdFactory

__all__ = ["HubBus"]

log = logging.getLogger("swoop.bus")

_BACKOFF_START = 0.05


class HubBus(ClusterBus):
    """Carry gateway operations to the other workers of this host through the hub at
    ``path``.

    Args:
        path: the hub's Unix socket (``runtime/ws-hub.sock`` under the process manager).
        registry: this worker's registry (tracked, so the hub learns about connections).
        ids: this worker's client id factory (its prefix names the worker).
        timeout: seconds to wait for an answer (and for the first connection at start).
        queue_size: packets queued for the hub before new ones are dropped.
        backoff_max: the longest wait between two connection attempts.
    """

    kind = "hub"

    def __init__(
        self,
        path: str | os.PathLike[str],
        registry: TrackedRegistry,
        ids: ClientIdFactory,
        *,
        timeout: float = 5.0,
        queue_size: int = 10_000,
        backoff_max: float = 5.0,
    ) -> None:
        super().__init__(registry, ids)
        self.path = check_socket_path(path)
        self.timeout = timeout
        self.queue_size = queue_size
        self.backoff_max = backoff_max
        self._out: asyncio.Queue[bytes] | None = None  # None while disconnected
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._runner: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._closing = False

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect in the background; wait up to ``timeout`` seconds for the first
        connection (the worker serves its own connections either way)."""
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name=f"swoop-bus-hub {self.worker}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timeout):
                await self._ready.wait()
        if not self.connected:
            log.warning("bus: hub at %s not reachable yet; retrying in the background", self.path)

    async def aclose(self) -> None:
        """Send what is queued (up to ``timeout`` seconds), then disconnect."""
        self._closing = True
        out = self._out
        if out is not None and self.connected:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timeout):
                    await out.join()
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        await super().aclose()

    async def _run(self) -> None:
        delay, failures = _BACKOFF_START, 0
        while True:
            try:
                stream = await anyio.connect_unix(self.path)
            except OSError as exc:
                failures += 1
                if failures == 1 or failures % 20 == 0:
                    log.warning(
                        "bus: cannot reach the hub at %s (%s); retrying (attempt %d)",
                        self.path,
                        exc.strerror or exc,
                        failures,
                    )
            else:
                failures = 0
                try:
                    await self._session(stream)
                except BusError as exc:
                    log.error(
                        "bus: the hub at %s refused worker %s: %s", self.path, self.worker, exc
                    )
                except Exception as exc:
                    log.warning("bus: connection to the hub at %s failed: %r", self.path, exc)
                else:
                    delay = _BACKOFF_START
                finally:
                    self._disconnected()
                if self._closing:
                    return
                log.warning(
                    "bus: lost the hub at %s; local delivery continues, deliveries to other "
                    "workers are dropped until it is back",
                    self.path,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    async def _session(self, stream: SocketStream) -> None:
        """Serve one connection to the hub until it breaks."""
        async with stream:
            decoder = PacketDecoder()
            first = await self._hello(stream, decoder)
            out: asyncio.Queue[bytes] = asyncio.Queue(self.queue_size)
            self._out = out
            self.connected = True
            self.dirty = False
            if self._ready.is_set():
                self.counters.reconnects += 1
                log.warning("bus: worker %s reconnected to the hub at %s", self.worker, self.path)
            else:
                self._ready.set()
                log.info("bus: worker %s connected to the hub at %s", self.worker, self.path)
            requests: asyncio.Queue[Packet] = asyncio.Queue(self.queue_size)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._write, stream, out)
                tg.start_soon(self._serve_requests, requests)
                reader = self._read_and_stop
                tg.start_soon(reader, stream, decoder, first, requests, tg.cancel_scope)
                while True:  # resend the state after a report that did not fit the queue
                    await asyncio.sleep(0.5)
                    if self.dirty:
                        self._resync()

    async def _hello(self, stream: SocketStream, decoder: PacketDecoder) -> list[Packet]:
        """Register with the hub, sending this worker's state; the packets that came after
        the hub's answer.

        Raises:
            BusError: the hub refused this worker (another one has the same key).
            TimeoutError: no answer within ``timeout``.
        """
        await stream.send(self._snapshot_packet({"t": "hello", "worker": self.worker}, 0))
        with anyio.fail_after(self.timeout):
            while True:
                packets = decoder.feed(await stream.receive())
                if packets:
                    break
        reply, *rest = packets
        if reply.type != "reply" or reply.header.get("id") != 0:
            raise ProtocolError(f"expected the hub's answer to hello, got {reply.header!r}")
        if not reply.header.get("ok"):
            raise BusError(str(reply.header.get("error")))
        return rest

    def _disconnected(self) -> None:
        self.connected = False
        self.dirty = True
        self._out = None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(self._unavailable("the connection to the hub closed"))

    # -- the three tasks of a connection ----------------------------------------------------

    async def _write(self, stream: SocketStream, out: asyncio.Queue[bytes]) -> None:
        while True:
            chunks = [await out.get()]
            while not out.empty() and len(chunks) < 256:
                chunks.append(out.get_nowait())
            await stream.send(b"".join(chunks))
            self.counters.messages_out += len(chunks)
            for _ in chunks:
                out.task_done()

    async def _read_and_stop(
        self,
        stream: SocketStream,
        decoder: PacketDecoder,
        first: list[Packet],
        requests: asyncio.Queue[Packet],
        scope: anyio.CancelScope,
    ) -> None:
        try:
            self._on_packets(first, requests)
            async for chunk in stream:
                self._on_packets(decoder.feed(chunk), requests)
        except ProtocolError as exc:
            self.counters.errors += 1
            log.warning("bus: bad packet from the hub at %s: %s", self.path, exc)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
            pass
        scope.cancel()

    def _on_packets(self, packets: list[Packet], requests: asyncio.Queue[Packet]) -> None:
        registry = self.registry
        for packet in packets:
            self.counters.messages_in += 1
            kind = packet.type
            if kind == "deliver":
                deliver(registry, delivery_from(packet))
            elif kind == "reply":
                self._on_reply(packet.header)
            elif kind == "req":
                try:
                    requests.put_nowait(packet)
                except asyncio.QueueFull:
                    self._dropped("a request from another worker")
            elif kind == "ungroup":
                registry.ungroup(str(packet.header.get("group")))
            else:
                raise ProtocolError(f"unexpected packet type {kind!r} from the hub")

    async def _serve_requests(self, requests: asyncio.Queue[Packet]) -> None:
        """Answer forwarded requests one at a time (a change waits for its report's ack,
        which the reader task delivers)."""
        while True:
            header = (await requests.get()).header
            try:
                value = await self.handle_request(header["kind"], header["op"], header["args"])
                reply = {"t": "reply", "id": header.get("id"), "ok": True, "value": value}
            except Exception as exc:
                self.counters.errors += 1
                log.warning("bus: request %s failed: %r", header.get("op"), exc)
                reply = {"t": "reply", "id": header.get("id"), "ok": False, "error": repr(exc)}
            self._put(encode(reply), "a reply to another worker")

    # -- transport hooks --------------------------------------------------------------------

    async def _send_delivery(self, delivery: Delivery) -> None:
        if not self.connected:
            self._dropped("a delivery to other workers (hub not connected)")
            return
        self._put(frame(delivery_body(delivery, self.worker)), "a delivery to other workers")

    async def _request(self, kind: str, op: str, args: list[Any]) -> Any:
        return await self._ask({"t": "req", "kind": kind, "op": op, "args": args}, op)

    async def _report(self, op: str, args: list[Any]) -> None:
        if not self.connected or self.dirty:
            self.dirty = True  # the next snapshot carries it
            return
        try:
            await self._ask({"t": "index", "op": op, "args": args}, op)
        except BusError:
            self.dirty = True

    async def _ungroup(self, group: str) -> None:
        await self._request("change", "ungroup", [group])

    def _notify(self, op: str, args: list[Any]) -> None:
        if self.connected and not self.dirty:
            if self._put(encode({"t": "index", "op": op, "args": args}), None):
                return
        self.dirty = True

    # -- plumbing ---------------------------------------------------------------------------

    def _put(self, data: bytes, what: str | None) -> bool:
        out = self._out
        if out is None:
            if what is not None:
                self._dropped(what + " (hub not connected)")
            return False
        try:
            out.put_nowait(data)
        except asyncio.QueueFull:
            if what is not None:
                self._dropped(what + " (queue to the hub full)")
            return False
        return True

    def _future(self, request_id: int) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        return future

    async def _ask(self, header: dict[str, Any], what: str) -> Any:
        if not self.connected:
            raise self._unavailable(f"cannot {what}: the hub is not connected")
        if len(self._pending) >= self.queue_size:
            raise self._unavailable(f"cannot {what}: too many requests in flight")
        request_id = next(self._ids)
        future = self._future(request_id)
        try:
            data = encode({**header, "id": request_id})
        except TypeError as exc:
            self._pending.pop(request_id, None)
            raise BusError(f"cannot {what}: arguments are not JSON-serialisable: {exc}") from exc
        if not self._put(data, None):
            self._pending.pop(request_id, None)
            raise self._unavailable(f"cannot {what}: the queue to the hub is full")
        try:
            async with asyncio.timeout(self.timeout):
                return await future
        except TimeoutError:
            self.counters.errors += 1
            message = f"{what}: no answer from the hub within {self.timeout}s"
            raise self._unavailable(message) from None
        finally:
            self._pending.pop(request_id, None)

    def _on_reply(self, header: dict[str, Any]) -> None:
        future = self._pending.pop(header.get("id"), None)  # type: ignore[arg-type]
        if future is None or future.done():
            return
        if header.get("ok"):
            future.set_result(header.get("value"))
        else:
            self.counters.errors += 1
            future.set_exception(BusError(str(header.get("error"))))

    def _snapshot_packet(self, header: dict[str, Any], request_id: int | None = None) -> bytes:
        if request_id is not None:
            header = {**header, "id": request_id}
        return encode(header, snapshot_payload(self.snapshot()))

    def _resync(self) -> None:
        if self._put(self._snapshot_packet({"t": "sync"}), None):
            self.dirty = False
            self.counters.resyncs += 1
            log.warning("bus: worker %s sent its state again after a gap", self.worker)

    def _unavailable(self, message: str) -> BusUnavailableError:
        return BusUnavailableError(f"{message} (hub socket {self.path})")
