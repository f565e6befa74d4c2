"""One end of a gateway <-> business worker link: packets in, packets out, bounded.

A :class:`Link` reads packets from a Unix stream and hands each to a callback, and writes
packets from a queue of at most ``queue_size`` packets, batching what queued meanwhile into
one write. :meth:`Link.send` never waits (``False``: the queue is full or the link closed;
the caller counts the drop); :meth:`Link.put` waits for room, which is how a side that
produces faster than the other reads is slowed down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from framework.bus.errors import ProtocolError
from framework.bus.protocol import MAX_PACKET, Packet, PacketDecoder

__all__ = ["Link"]

log = logging.getLogger("swoop.websocket")

_READ = 256 * 1024
_BATCH = 512


class Link:
    """Packets over one stream until either side closes it (see the module docs).

    Attributes:
        name: for log lines.
        packets_in, packets_out, dropped, errors: counters.
        closed: set once the stream is gone; later sends return ``False``.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        name: str,
        queue_size: int = 10_000,
        max_packet: int = MAX_PACKET,
    ) -> None:
        self.name = name
        self._reader, self._writer = reader, writer
        self._queue: deque[bytes] = deque()
        self._limit = max(1, queue_size)
        self._has_data = asyncio.Event()
        self._has_room = asyncio.Event()
        self._decoder = PacketDecoder(max_packet)
        self.packets_in = self.packets_out = self.dropped = self.errors = 0
        self.closed = False

    def send(self, data: bytes) -> bool:
        """Queue an encoded packet without waiting; ``False`` (counted) when it cannot be."""
        if self.closed or len(self._queue) >= self._limit:
            self.dropped += 1
            return False
        self._queue.append(data)
        self._has_data.set()
        return True

    async def put(self, data: bytes) -> bool:
        """Queue an encoded packet, waiting while the queue is full; ``False``: closed."""
        while not self.closed and len(self._queue) >= self._limit:
            self._has_room.clear()
            await self._has_room.wait()
        if self.closed:
            return False
        self._queue.append(data)
        self._has_data.set()
        return True

    def close(self) -> None:
        """Close the stream after the packets already queued; :meth:`run` returns soon after."""
        if not self.closed and self._queue:
            with contextlib.suppress(Exception):
                self._writer.write(b"".join(self._queue))  # the transport sends it, then closes
        self._closed()
        self._writer.close()

    async def run(self, on_packet: Callable[[Packet], None]) -> None:
        """Read until the stream ends or a packet is malformed, calling ``on_packet`` for
        each packet (a :class:`ProtocolError` it raises closes the link too)."""
        writing = asyncio.get_running_loop().create_task(self._write())
        try:
            await self._read(on_packet)
        finally:
            self._closed()
            writing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writing
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()

    async def _read(self, on_packet: Callable[[Packet], None]) -> None:
        reader, decoder = self._reader, self._decoder
        try:
            while data := await reader.read(_READ):
                for packet in decoder.feed(data):
                    self.packets_in += 1
                    try:
                        on_packet(packet)
                    except (KeyError, TypeError, ValueError) as exc:
                        raise ProtocolError(
                            f"bad {packet.header.get('t')!r} packet: {exc!r}"
                        ) from exc
        except ProtocolError as exc:
            self.errors += 1
            log.warning("link %s: closing after a bad packet: %s", self.name, exc)
        except (ConnectionError, OSError):
            pass

    async def _write(self) -> None:
        queue, writer = self._queue, self._writer
        try:
            while True:
                while not queue:
                    self._has_data.clear()
                    await self._has_data.wait()
                batch = [queue.popleft() for _ in range(min(len(queue), _BATCH))]
                self._has_room.set()
                writer.write(b"".join(batch))
                self.packets_out += len(batch)
                await writer.drain()
        except (ConnectionError, OSError):
            self._closed()
            writer.close()

    def _closed(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.clear()
            self._has_room.set()
