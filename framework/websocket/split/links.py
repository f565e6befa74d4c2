"""The business workers linked to one gateway: :class:`BusinessLinks`.

A gateway listens on its Unix socket (``runtime/ws-gw-<n>.sock``, mode 0600); every
business worker connects, says ``hello`` (answered with ``welcome`` and the gateway's client
id prefix) and ``ready`` (give me connections), and on a reload ``drain`` (answered with
``draining`` at once, and ``drained`` once nothing it was sent is in flight any more).
:meth:`BusinessLinks.pick` chooses the least loaded ready worker, waiting up to
``ws.split_timeout`` for one; every other packet goes to the gateway app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from framework.bus.errors import BusError
from framework.websocket.split.link import Link
from framework.websocket.split.protocol import Packet, encode, integer, text

if TYPE_CHECKING:
    from framework.websocket.split.http import Exchange

__all__ = ["BusinessLink", "BusinessLinks", "LinkLostError"]

log = logging.getLogger("swoop.websocket")


class LinkLostError(Exception):
    """The business worker went away before it answered."""


class BusinessLink:
    """A business worker as a gateway sees it.

    Attributes:
        assigned: connections whose events go here.
        inflight: the events sent here and not answered yet, by client id: ``(seq, future)``.
        http: the HTTP requests forwarded here and not finished yet.
    """

    __slots__ = (
        "assigned",
        "drained",
        "draining",
        "http",
        "inflight",
        "link",
        "pid",
        "ready",
        "worker",
    )

    def __init__(self, link: Link) -> None:
        self.link = link
        self.worker = "?"
        self.pid = 0
        self.ready = False
        self.draining = False
        self.drained = False
        self.assigned = 0
        self.inflight: dict[str, tuple[int, asyncio.Future[Packet]]] = {}
        self.http: dict[int, Exchange] = {}

    @property
    def usable(self) -> bool:
        """Whether new events may go here."""
        return self.ready and not self.draining and not self.link.closed

    @property
    def load(self) -> int:
        return self.assigned + len(self.http)


class BusinessLinks:
    """The links of one gateway (see the module docs).

    Args:
        path: the Unix socket to listen on.
        index: the gateway's number, for logs.
        prefix: the gateway's client id prefix (``<node>-<worker>-<boot>``).
        queue_size: packets queued per link before sends are refused.
        wait: seconds :meth:`pick` waits for a ready worker.
        on_packet: called with every other packet of a link.
    """

    def __init__(
        self,
        path: str,
        *,
        index: int,
        prefix: str,
        queue_size: int,
        wait: float,
        on_packet: Callable[[BusinessLink, Packet], None],
    ) -> None:
        self.path = path
        self.index = index
        self.prefix = prefix
        self.queue_size = queue_size
        self.wait = wait
        self.dropped = 0  # packets refused by the queues of links now gone
        self._links: set[BusinessLink] = set()
        self._on_packet = on_packet
        self._changed = asyncio.Event()
        self._server: asyncio.AbstractServer | None = None

    def __iter__(self) -> Iterator[BusinessLink]:
        return iter(list(self._links))

    def __len__(self) -> int:
        return len(self._links)

    async def start(self) -> None:
        """Listen on ``path`` (mode 0600: only this user's processes may connect).

        Raises:
            BusError: another gateway listens there.
        """
        _clear_stale(self.path)
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._accept, self.path)
        finally:
            os.umask(old)

    async def aclose(self) -> None:
        """Stop listening, tell every worker the gateway stops, close the links."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        for link in list(self._links):
            link.link.send(encode({"t": "bye"}))  # a stop, not a crash: no warning there
            link.link.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                while self._links:  # noqa: ASYNC110  (their readers see the close and end)
                    await asyncio.sleep(0.01)

    async def pick(self) -> BusinessLink | None:
        """The least loaded ready business worker, waiting up to ``wait`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        while True:
            best: BusinessLink | None = None
            for link in self._links:
                if link.usable and (best is None or link.load < best.load):
                    best = link
            remaining = deadline - loop.time()
            if best is not None or remaining <= 0:
                return best
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await changed.wait()

    def check_drained(self, link: BusinessLink) -> None:
        """Tell a draining worker once nothing of it is in flight any more."""
        if link.draining and not link.drained and not link.inflight and not link.http:
            link.drained = True
            link.link.send(encode({"t": "drained"}))

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        name = f"gateway {self.index}"
        link = BusinessLink(Link(reader, writer, name=name, queue_size=self.queue_size))
        self._links.add(link)
        try:
            await link.link.run(lambda packet: self._packet(link, packet))
        finally:
            self._lost(link)

    def _packet(self, link: BusinessLink, packet: Packet) -> None:
        kind, header = packet.type, packet.header
        if kind == "hello":
            link.worker, link.pid = text(header, "worker"), integer(header, "pid")
            welcome = {"t": "welcome", "gateway": self.index, "prefix": self.prefix}
            link.link.send(encode(welcome))
            log.info(
                "gateway %d: business worker %s (pid %d) linked", self.index, link.worker, link.pid
            )
        elif kind == "ready":
            link.ready = True
            self._notify()
        elif kind == "drain":
            link.draining = True
            link.link.send(encode({"t": "draining"}))
            self._notify()
            self.check_drained(link)
        else:
            self._on_packet(link, packet)

    def _lost(self, link: BusinessLink) -> None:
        self._links.discard(link)
        self.dropped += link.link.dropped
        if link.ready and not link.drained and self._server is not None:
            log.warning(
                "gateway %d: business worker %s (pid %d) went away with %d event(s) and %d "
                "request(s) in flight",
                self.index,
                link.worker,
                link.pid,
                len(link.inflight),
                len(link.http),
            )
        for _, future in list(link.inflight.values()):
            if not future.done():
                future.set_exception(LinkLostError())
        link.inflight.clear()
        for exchange in list(link.http.values()):
            exchange.lost()
        self._notify()


def _clear_stale(path: str) -> None:
    """Remove a socket file left by a dead gateway; refuse to take a live one's place."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not os.path.exists(path):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)
            return
    raise BusError(
        f"a gateway already listens on {path}\n"
        "  fix: stop the other server, or give this one another runtime directory"
    )
