"""The hub: the cluster state of one host's workers, served over a Unix socket.

The master hosts it (``runtime/ws-hub.sock``); each worker connects with a
:class:`~framework.bus.hub_bus.HubBus`, an external process with a
:class:`~framework.bus.client.PushClient`. Workers report their connections (client ids,
uids, groups); the hub answers presence and count queries from that state, forwards a
delivery only to the workers holding a target (the same bytes to each: encoded once), and
forwards a change or a session query to the worker that holds the client. A worker that
disconnects (or dies: the socket closes) has its entries removed at once.

```python
async with Hub("runtime/ws-hub.sock") as hub:   # in a running event loop
    ...
await Hub(path).serve()                          # or as the body of a task, until cancelled
```

Every peer has a bounded outgoing queue (``queue_size`` packets): packets for a peer that
does not read are dropped and counted, never buffered without limit.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import orjson
from anyio.abc import SocketStream, TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from framework.bus.directory import Directory
from framework.bus.errors import BusError, ProtocolError
from framework.bus.protocol import Packet, PacketDecoder, encode, frame, strings
from framework.websocket.bus import Target

__all__ = ["Hub", "check_socket_path"]

log = logging.getLogger("swoop.bus")

_TARGETS = {t.value: t for t in Target}
_MAX_SOCKET_PATH = 107  # sun_path is 108 bytes with the terminating NUL
_OWNER_QUERIES = frozenset({"session"})  # answered by the worker holding the client


def check_socket_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a string, if a Unix socket can live there.

    Raises:
        BusError: the path is longer than the 107 bytes a Unix socket address allows.
    """
    text = os.fspath(path)
    if len(os.fsencode(text)) > _MAX_SOCKET_PATH:
        raise BusError(
            f"hub socket path {text!r} is {len(os.fsencode(text))} bytes, more than the "
            f"{_MAX_SOCKET_PATH} a Unix socket allows\n  fix: use a shorter runtime directory"
        )
    return text


@dataclass(slots=True)
class _Pending:
    asker: _Peer
    asker_id: Any
    owner: str
    default: Any  # the answer when the owner leaves first: the client is gone
    deadline: float


class _Peer:
    __slots__ = ("dropped", "inbox", "name", "outbox", "stream", "worker")

    def __init__(self, stream: SocketStream, limit: int) -> None:
        self.stream = stream
        self.worker: str | None = None
        self.name = "peer"
        self.outbox: MemoryObjectSendStream[bytes]
        self.inbox: MemoryObjectReceiveStream[bytes]
        self.outbox, self.inbox = anyio.create_memory_object_stream[bytes](limit)
        self.dropped = 0

    def put(self, data: bytes) -> bool:
        try:
            self.outbox.send_nowait(data)
        except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
            self.dropped += 1
            return False
        return True


class Hub:
    """Serve the cluster state of one host at ``path`` (a Unix socket).

    Args:
        path: where to listen; a stale socket file is replaced, a live one is an error.
        queue_size: packets queued per peer before new ones are dropped.
        request_timeout: seconds a forwarded request waits for its worker.

    Raises (on start):
        BusError: another hub listens at ``path``, or the path is too long.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        queue_size: int = 10_000,
        request_timeout: float = 5.0,
    ) -> None:
        self.path = check_socket_path(path)
        self.queue_size = queue_size
        self.request_timeout = request_timeout
        self.directory = Directory()
        self._peers: dict[str, _Peer] = {}  # worker key -> its connection
        self._all: set[_Peer] = set()
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._tg: TaskGroup | None = None
        self._counters = {"messages_in": 0, "messages_out": 0, "dropped": 0}

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Hub:
        self._tg = await anyio.create_task_group().__aenter__()
        try:
            await self._tg.start(self.serve)
        except BaseException:
            self._tg.cancel_scope.cancel()
            await self._tg.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop serving (workers see the socket close and reconnect to the next hub)."""
        tg, self._tg = self._tg, None
        if tg is not None:
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled; the socket file is removed on the way out."""
        listener = await self._bind()
        try:
            async with listener, anyio.create_task_group() as tg:
                tg.start_soon(self._sweep)
                log.info("bus hub listening on %s", self.path)
                task_status.started()
                await listener.serve(self._handle, task_group=tg)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    async def _bind(self) -> Any:
        _clear_stale(self.path)
        return await anyio.create_unix_listener(self.path)

    def stats(self) -> dict[str, Any]:
        """Counters for ``status``: workers, clients, uids, groups, packets in/out, drops."""
        d = self.directory
        return {
            "workers": len(self._peers),
            "peers": len(self._all),
            "connections": len(d.clients),
            "uids": len(d.uids),
            "groups": len(d.groups),
            "pending": len(self._pending),
            **self._counters,
            "dropped": self._counters["dropped"] + sum(p.dropped for p in self._all),
        }

    # -- one peer ---------------------------------------------------------------------------

    async def _handle(self, stream: SocketStream) -> None:
        peer = _Peer(stream, self.queue_size)
        self._all.add(peer)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._write, peer)
                try:
                    await self._read(peer)
                finally:
                    tg.cancel_scope.cancel()
        finally:
            self._leave(peer)
            with anyio.CancelScope(shield=True):
                await stream.aclose()

    async def _read(self, peer: _Peer) -> None:
        decoder = PacketDecoder()
        try:
            async for chunk in peer.stream:
                for packet in decoder.feed(chunk):
                    self._counters["messages_in"] += 1
                    self._on_packet(peer, packet)
        except ProtocolError as exc:
            log.warning("bus hub: closing %s after a bad packet: %s", peer.name, exc)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
            pass

    async def _write(self, peer: _Peer) -> None:
        stream, inbox = peer.stream, peer.inbox
        try:
            async for data in inbox:
                chunks = [data]
                with contextlib.suppress(anyio.WouldBlock):
                    while len(chunks) < 256:  # one write for what queued meanwhile
                        chunks.append(inbox.receive_nowait())
                self._counters["messages_out"] += len(chunks)
                await stream.send(b"".join(chunks))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
            await stream.aclose()

    def _leave(self, peer: _Peer) -> None:
        self._all.discard(peer)
        self._counters["dropped"] += peer.dropped
        peer.outbox.close()
        peer.inbox.close()
        worker = peer.worker
        if worker is not None and self._peers.get(worker) is peer:
            del self._peers[worker]
            dropped = self.directory.drop_worker(worker)
            log.info("bus hub: worker %s left; %d connection(s) removed", worker, dropped)
        for hub_id, pending in list(self._pending.items()):
            if pending.asker is peer:
                del self._pending[hub_id]
            elif pending.owner == worker:
                del self._pending[hub_id]
                self._reply(pending.asker, pending.asker_id, pending.default)

    # -- packets ----------------------------------------------------------------------------

    def _on_packet(self, peer: _Peer, packet: Packet) -> None:
        kind, header = packet.type, packet.header
        if kind == "deliver":
            self._deliver(peer, packet)
        elif kind == "index":
            if peer.worker is None:
                raise ProtocolError("index packet from a peer that is not a worker")
            op, args = header.get("op"), header.get("args")
            if not isinstance(op, str) or not isinstance(args, list) or not args:
                raise ProtocolError(f"bad index packet: {header!r}")
            self.directory.apply(peer.worker, op, args)
            if "id" in header:
                self._reply(peer, header["id"], True)
        elif kind == "req":
            self._request(peer, header)
        elif kind == "reply":
            pending = self._pending.pop(header.get("id"), None)  # type: ignore[arg-type]
            if pending is not None:
                out = dict(header, id=pending.asker_id)
                self._put(pending.asker, encode(out))
        elif kind == "sync":
            if peer.worker is None:
                raise ProtocolError("sync packet from a peer that is not a worker")
            self.directory.load(peer.worker, _entries(packet, peer.worker))
        elif kind == "hello":
            self._hello(peer, packet)
        else:
            raise ProtocolError(f"unknown packet type {kind!r}")

    def _hello(self, peer: _Peer, packet: Packet) -> None:
        worker, request_id = packet.header.get("worker"), packet.header.get("id")
        if worker is None:
            peer.name = "push client"
            self._reply(peer, request_id, True)
            return
        if not isinstance(worker, str) or peer.worker is not None:
            raise ProtocolError(f"bad hello packet: {packet.header!r}")
        if worker in self._peers:
            self._error(
                peer,
                request_id,
                f"worker {worker!r} is already connected to the hub; give each worker its own "
                "ws.worker number",
            )
            return
        entries = _entries(packet, worker)
        self.directory.load(worker, entries)
        peer.worker = peer.name = worker
        self._peers[worker] = peer
        log.info("bus hub: worker %s joined with %d connection(s)", worker, len(entries))
        self._reply(peer, request_id, True)

    def _deliver(self, peer: _Peer, packet: Packet) -> None:
        header = packet.header
        target = _TARGETS.get(header.get("target"))  # type: ignore[arg-type]
        if target is None:
            raise ProtocolError(f"bad deliver packet: {header!r}")
        keys = strings(header.get("keys"))
        workers = self.directory.route(target, keys, peer.worker)
        if workers:
            data = frame(packet.raw)  # the same bytes for every worker
            for worker in workers:
                self._put(self._peers.get(worker), data)

    def _request(self, peer: _Peer, header: dict[str, Any]) -> None:
        request_id, kind, op, args = (header.get(k) for k in ("id", "kind", "op", "args"))
        if not isinstance(op, str) or not isinstance(args, list):
            raise ProtocolError(f"bad req packet: {header!r}")
        if kind == "query" and op not in _OWNER_QUERIES:
            try:
                self._reply(peer, request_id, self.directory.answer(op, args))
            except (KeyError, IndexError, TypeError):
                self._error(peer, request_id, f"unknown query {op!r}")
            return
        if kind == "change" and op == "ungroup":
            group = str(args[0])
            notice = encode({"t": "ungroup", "group": group})
            for worker in self.directory.ungroup(group) - {peer.worker}:
                self._put(self._peers.get(worker), notice)
            self._reply(peer, request_id, True)
            return
        default = False if kind == "change" else None
        owner = self.directory.owner(args[0]) if args and isinstance(args[0], str) else None
        owner_peer = None if owner is None else self._peers.get(owner)
        if owner is None or owner_peer is None:
            self._reply(peer, request_id, default)
            return
        if len(self._pending) >= self.queue_size:
            self._error(peer, request_id, "the hub has too many requests in flight")
            return
        hub_id = next(self._ids)
        deadline = time.monotonic() + self.request_timeout
        self._pending[hub_id] = _Pending(peer, request_id, owner, default, deadline)
        self._put(owner_peer, encode(dict(header, id=hub_id)))

    async def _sweep(self) -> None:
        """Answer the askers of forwarded requests whose worker never replied."""
        while True:
            await anyio.sleep(min(1.0, self.request_timeout))
            now = time.monotonic()
            for hub_id, pending in list(self._pending.items()):
                if pending.deadline <= now:
                    del self._pending[hub_id]
                    message = f"worker {pending.owner} did not answer in time"
                    self._error(pending.asker, pending.asker_id, message)

    def _reply(self, peer: _Peer, request_id: Any, value: Any) -> None:
        if request_id is not None:
            self._put(peer, encode({"t": "reply", "id": request_id, "ok": True, "value": value}))

    def _error(self, peer: _Peer, request_id: Any, message: str) -> None:
        if request_id is not None:
            self._put(peer, encode({"t": "reply", "id": request_id, "ok": False, "error": message}))

    def _put(self, peer: _Peer | None, data: bytes) -> None:
        if peer is not None and not peer.put(data):
            if peer.dropped in (1,) or peer.dropped % 1000 == 0:
                log.warning(
                    "bus hub: %s reads too slowly; %d packet(s) dropped for it",
                    peer.name,
                    peer.dropped,
                )


def _entries(packet: Packet, worker: str) -> list[Any]:
    """The snapshot in a hello or sync payload, checked: ``[[id, uid|null, [groups]], ...]``."""
    try:
        entries = orjson.loads(packet.payload) if packet.payload else []
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"bad snapshot from worker {worker!r}: {exc}") from None
    if not isinstance(entries, list) or not all(_is_entry(e) for e in entries):
        raise ProtocolError(f"bad snapshot from worker {worker!r}")
    return entries


def _is_entry(entry: Any) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 3
        and isinstance(entry[0], str)
        and (entry[1] is None or isinstance(entry[1], str))
        and isinstance(entry[2], list)
        and all(isinstance(g, str) for g in entry[2])
    )


def _clear_stale(path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if os.path.exists(path):
        if _listening(path):
            raise BusError(
                f"a hub already listens on {path}\n"
                "  fix: stop the other master, or give this one another runtime directory"
            )
        os.unlink(path)  # left behind by a master that died


def _listening(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True
