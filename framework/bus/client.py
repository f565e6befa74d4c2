"""The Gateway API for processes that hold no connections (GatewayWorker's GatewayClient).

A script, a cron job or another web framework's view pushes to WebSocket clients and asks
about them through the same bus as the workers: the hub's socket on one host, Redis across
hosts.

```python
from framework.bus import PushClient

with PushClient("runtime/ws-hub.sock") as push:          # or "redis://127.0.0.1:6379/0"
    push.send_to_uid("ada", {"cmd": "notice", "data": "build finished"})
    print(push.group_count("room:lobby"))

async with AsyncPushClient("redis://127.0.0.1:6379/0") as push:
    await push.send_to_group("room:lobby", {"cmd": "chat.said", "data": "hi"})
```

The method names, arguments and answers are the :class:`~framework.websocket.Gateway`'s.
Sends are fire-and-forget (they return once the hub or Redis took them); everything else
waits for the answer, up to ``timeout`` seconds. :class:`PushClient` runs an
:class:`AsyncPushClient` in an event loop thread of its own (started on first use, stopped
by :meth:`PushClient.close`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from types import TracebackType
from typing import Any, Protocol

import anyio
from anyio.abc import SocketStream
from anyio.from_thread import BlockingPortal, start_blocking_portal

from framework.bus.errors import BusError, BusUnavailableError
from framework.bus.factory import REDIS_SCHEMES
from framework.bus.hub import check_socket_path
from framework.bus.protocol import PacketDecoder, delivery_body, encode, frame
from framework.websocket.bus import Delivery, Target
from framework.websocket.connection import CloseCode
from framework.websocket.parsers import encode_value

__all__ = ["AsyncPushClient", "PushClient"]


class PushTransport(Protocol):
    async def deliver(self, delivery: Delivery) -> None: ...

    async def request(self, kind: str, op: str, args: list[Any]) -> Any: ...

    async def aclose(self) -> None: ...


def _keys(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _exclude(value: str | Iterable[str] | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset((value,)) if isinstance(value, str) else frozenset(value)


class AsyncPushClient:
    """The Gateway API over the hub (a socket path) or Redis (a ``redis://`` URL).

    Args:
        target: the hub's socket (``"runtime/ws-hub.sock"``) or a Redis URL.
        namespace: the application's ``ws.bus_namespace`` (Redis only).
        timeout: seconds to wait for an answer.
        ttl: the application's ``ws.bus_ttl`` (Redis only: when a worker counts as gone).

    Raises:
        BusUnavailableError: (from any call) the hub or Redis cannot be reached.
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        namespace: str = "swoop",
        timeout: float = 5.0,
        ttl: float = 10.0,
    ) -> None:
        text = os.fspath(target)
        self.target = text
        self._transport: PushTransport
        if text.startswith(REDIS_SCHEMES):
            try:
                from framework.bus.redis_link import RedisPushTransport
            except ImportError as exc:
                raise BusError(
                    f"a push client for {text!r} needs the redis package ({exc})\n"
                    "  fix: pip install 'swoop-framework[redis]'"
                ) from exc
            self._transport = RedisPushTransport(
                text, namespace=namespace, timeout=timeout, ttl=ttl
            )
        else:
            self._transport = HubPushTransport(text, timeout=timeout)

    async def __aenter__(self) -> AsyncPushClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection to the hub or Redis."""
        await self._transport.aclose()

    # -- sending ----------------------------------------------------------------------------

    async def send_to_client(self, client_id: str | Iterable[str], message: Any) -> None:
        """Send ``message`` to one client id (or each of several)."""
        await self._deliver(Target.CLIENT, _keys(client_id), message)

    async def send_to_uid(self, uid: str | Iterable[str], message: Any) -> None:
        """Send ``message`` to every connection bound to ``uid`` (or to any of several)."""
        await self._deliver(Target.UID, _keys(uid), message)

    async def send_to_group(
        self,
        group: str | Iterable[str],
        message: Any,
        *,
        exclude: str | Iterable[str] | None = None,
    ) -> None:
        """Send ``message`` to the members of ``group`` (each once), except ``exclude``."""
        await self._deliver(Target.GROUP, _keys(group), message, _exclude(exclude))

    async def send_to_all(
        self, message: Any, *, exclude: str | Iterable[str] | None = None
    ) -> None:
        """Send ``message`` to every connection of the application, except ``exclude``."""
        await self._deliver(Target.ALL, (), message, _exclude(exclude))

    async def close_client(
        self, client_id: str, code: int = CloseCode.NORMAL, reason: str = ""
    ) -> bool:
        """Close a client after the frames queued for it. ``False``: not connected."""
        return bool(await self._transport.request("change", "close", [client_id, code, reason]))

    # -- uids, groups, sessions -------------------------------------------------------------

    async def bind_uid(self, client_id: str, uid: str) -> bool:
        """Bind a client to a uid (replacing its previous one)."""
        return await self._change("bind_uid", client_id, uid)

    async def unbind_uid(self, client_id: str, uid: str | None = None) -> bool:
        """Unbind a client from its uid (only if it is ``uid``, when given)."""
        return await self._change("unbind_uid", client_id, uid)

    async def join_group(self, client_id: str, group: str) -> bool:
        """Add a client to a group."""
        return await self._change("join_group", client_id, group)

    async def leave_group(self, client_id: str, group: str) -> bool:
        """Remove a client from a group."""
        return await self._change("leave_group", client_id, group)

    async def ungroup(self, group: str) -> None:
        """Dissolve a group; its members stay connected."""
        await self._transport.request("change", "ungroup", [group])

    async def get_session(self, client_id: str) -> dict[str, Any] | None:
        """A copy of the client's session, or ``None`` when it is not connected."""
        return await self._transport.request("query", "session", [client_id])  # type: ignore[no-any-return]

    async def set_session(self, client_id: str, data: Mapping[str, Any]) -> bool:
        """Replace the client's session with ``data`` (JSON values)."""
        return await self._change("set_session", client_id, dict(data))

    async def update_session(self, client_id: str, data: Mapping[str, Any]) -> bool:
        """Merge ``data`` (JSON values) into the client's session."""
        return await self._change("update_session", client_id, dict(data))

    # -- presence and counts ----------------------------------------------------------------

    async def is_online(self, client_id: str) -> bool:
        """Whether the client is connected (to any worker)."""
        return bool(await self._transport.request("query", "is_online", [client_id]))

    async def is_uid_online(self, uid: str) -> bool:
        """Whether at least one client is bound to ``uid``."""
        return bool(await self._transport.request("query", "is_uid_online", [uid]))

    async def client_ids_by_uid(self, uid: str) -> list[str]:
        """The client ids bound to ``uid``."""
        return list(await self._transport.request("query", "client_ids_by_uid", [uid]))

    async def uid_by_client(self, client_id: str) -> str | None:
        """The uid the client is bound to, or ``None``."""
        return await self._transport.request("query", "uid_by_client", [client_id])  # type: ignore[no-any-return]

    async def group_client_ids(self, group: str) -> list[str]:
        """The client ids in ``group``."""
        return list(await self._transport.request("query", "group_client_ids", [group]))

    async def group_count(self, group: str) -> int:
        """How many clients are in ``group``."""
        return int(await self._transport.request("query", "group_count", [group]))

    async def all_count(self) -> int:
        """How many clients are connected to the application."""
        return int(await self._transport.request("query", "all_count", []))

    # -- plumbing ---------------------------------------------------------------------------

    async def _deliver(
        self,
        target: Target,
        keys: tuple[str, ...],
        message: Any,
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        await self._transport.deliver(Delivery(target, keys, encode_value(message), exclude))

    async def _change(self, op: str, client_id: str, *args: Any) -> bool:
        return bool(await self._transport.request("change", op, [client_id, *args]))


class HubPushTransport:
    """A push client's connection to the hub: opened on first use, one request at a time,
    reopened after a failure."""

    def __init__(self, path: str, *, timeout: float) -> None:
        self.path = check_socket_path(path)
        self.timeout = timeout
        self._stream: SocketStream | None = None
        self._decoder = PacketDecoder()
        self._lock = asyncio.Lock()
        self._next_id = 0

    async def deliver(self, delivery: Delivery) -> None:
        async with self._lock:
            await self._send(frame(delivery_body(delivery, None)), "send")

    async def request(self, kind: str, op: str, args: list[Any]) -> Any:
        async with self._lock:
            self._next_id += 1
            request_id = self._next_id
            try:
                data = encode({"t": "req", "id": request_id, "kind": kind, "op": op, "args": args})
            except TypeError as exc:
                raise BusError(f"cannot {op}: arguments are not JSON-serialisable: {exc}") from exc
            stream = await self._send(data, op)
            try:
                with anyio.fail_after(self.timeout):
                    header = await self._reply(stream, request_id)
            except (TimeoutError, OSError, anyio.EndOfStream, anyio.BrokenResourceError) as exc:
                await self._drop()
                raise BusUnavailableError(
                    f"{op}: no answer from the hub at {self.path} ({exc!r})"
                ) from exc
        if not header.get("ok"):
            raise BusError(str(header.get("error")))
        return header.get("value")

    async def aclose(self) -> None:
        await self._drop()

    async def _send(self, data: bytes, what: str) -> SocketStream:
        try:
            stream = await self._connect()
            await stream.send(data)
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            await self._drop()
            raise BusUnavailableError(
                f"cannot {what}: the hub at {self.path} is not reachable ({exc!r})\n"
                "  fix: start the ws server (its master hosts the hub), or check the path"
            ) from exc
        return stream

    async def _connect(self) -> SocketStream:
        if self._stream is None:
            stream = await anyio.connect_unix(self.path)
            self._decoder = PacketDecoder()
            try:
                await stream.send(encode({"t": "hello", "worker": None, "id": 0}))
                with anyio.fail_after(self.timeout):
                    await self._reply(stream, 0)
            except BaseException:
                await stream.aclose()
                raise
            self._stream = stream
        return self._stream

    async def _reply(self, stream: SocketStream, request_id: int) -> dict[str, Any]:
        while True:
            for packet in self._decoder.feed(await stream.receive()):
                if packet.type == "reply" and packet.header.get("id") == request_id:
                    return packet.header

    async def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(OSError, anyio.BrokenResourceError):
                await stream.aclose()


class PushClient:
    """:class:`AsyncPushClient` for synchronous code: the same methods, blocking.

    It runs the async client in an event loop thread started on first use; use it as a
    context manager, or call :meth:`close`, so the thread stops.
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        namespace: str = "swoop",
        timeout: float = 5.0,
        ttl: float = 10.0,
    ) -> None:
        self._args = (target, namespace, timeout, ttl)
        self._stack: ExitStack | None = None
        self._portal: BlockingPortal | None = None
        self._client: AsyncPushClient | None = None

    def __enter__(self) -> PushClient:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and stop the event loop thread."""
        stack, self._stack = self._stack, None
        if stack is not None:
            try:
                if self._portal is not None and self._client is not None:
                    self._portal.call(self._client.aclose)
            finally:
                self._portal = self._client = None
                stack.close()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._portal is None:
            stack = ExitStack()
            self._portal = stack.enter_context(start_blocking_portal())
            self._stack = stack
            target, namespace, timeout, ttl = self._args
            self._client = AsyncPushClient(target, namespace=namespace, timeout=timeout, ttl=ttl)
        method = getattr(self._client, name)
        return self._portal.call(lambda: method(*args, **kwargs))

    def send_to_client(self, client_id: str | Iterable[str], message: Any) -> None:
        self._call("send_to_client", client_id, message)

    def send_to_uid(self, uid: str | Iterable[str], message: Any) -> None:
        self._call("send_to_uid", uid, message)

    def send_to_group(
        self,
        group: str | Iterable[str],
        message: Any,
        *,
        exclude: str | Iterable[str] | None = None,
    ) -> None:
        self._call("send_to_group", group, message, exclude=exclude)

    def send_to_all(self, message: Any, *, exclude: str | Iterable[str] | None = None) -> None:
        self._call("send_to_all", message, exclude=exclude)

    def close_client(self, client_id: str, code: int = CloseCode.NORMAL, reason: str = "") -> bool:
        return bool(self._call("close_client", client_id, code, reason))

    def bind_uid(self, client_id: str, uid: str) -> bool:
        return bool(self._call("bind_uid", client_id, uid))

    def unbind_uid(self, client_id: str, uid: str | None = None) -> bool:
        return bool(self._call("unbind_uid", client_id, uid))

    def join_group(self, client_id: str, group: str) -> bool:
        return bool(self._call("join_group", client_id, group))

    def leave_group(self, client_id: str, group: str) -> bool:
        return bool(self._call("leave_group", client_id, group))

    def ungroup(self, group: str) -> None:
        self._call("ungroup", group)

    def get_session(self, client_id: str) -> dict[str, Any] | None:
        return self._call("get_session", client_id)  # type: ignore[no-any-return]

    def set_session(self, client_id: str, data: Mapping[str, Any]) -> bool:
        return bool(self._call("set_session", client_id, data))

    def update_session(self, client_id: str, data: Mapping[str, Any]) -> bool:
        return bool(self._call("update_session", client_id, data))

    def is_online(self, client_id: str) -> bool:
        return bool(self._call("is_online", client_id))

    def is_uid_online(self, uid: str) -> bool:
        return bool(self._call("is_uid_online", uid))

    def client_ids_by_uid(self, uid: str) -> list[str]:
        return list(self._call("client_ids_by_uid", uid))

    def uid_by_client(self, client_id: str) -> str | None:
        return self._call("uid_by_client", client_id)  # type: ignore[no-any-return]

    def group_client_ids(self, group: str) -> list[str]:
        return list(self._call("group_client_ids", group))

    def group_count(self, group: str) -> int:
        return int(self._call("group_count", group))

    def all_count(self) -> int:
        return int(self._call("all_count"))
