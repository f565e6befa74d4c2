"""The gateway <-> business link (sans-IO packets, and one end of a real link): round
trips, malformed and oversized packets."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.websocket.split.link import Link
from framework.websocket.split.protocol import (
    Packet,
    PacketDecoder,
    ProtocolError,
    client_id,
    encode,
    encode_frame,
    frame_of,
    integer,
    scope_from_wire,
    scope_to_wire,
    text,
)

frames = st.one_of(st.text(max_size=300), st.binary(max_size=300))


@given(frames, st.integers(1, 64))
def test_a_frame_survives_any_chunking(frame: str | bytes, size: int) -> None:
    stream = encode_frame({"t": "msg", "c": "n-0-a-1", "s": 7}, frame) + encode({"t": "ready"})
    decoder = PacketDecoder()
    packets: list[Packet] = []
    for start in range(0, len(stream), size):
        packets.extend(decoder.feed(stream[start : start + size]))
    message, ready = packets
    assert message.type == "msg" and ready.type == "ready"
    assert frame_of(message) == frame
    assert (client_id(message.header), integer(message.header, "s")) == ("n-0-a-1", 7)


@given(st.binary(max_size=400))
def test_arbitrary_bytes_parse_or_raise_protocol_error(data: bytes) -> None:
    decoder = PacketDecoder(max_packet=256)
    try:
        for packet in decoder.feed(data):
            assert isinstance(packet.type, str)
            frame_of(packet)
            scope_from_wire(packet.header.get("scope"))
    except ProtocolError:
        pass


def _body(header: bytes, payload: bytes = b"") -> bytes:
    body = struct.pack(">I", len(header)) + header + payload
    return struct.pack(">I", len(body)) + body


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (struct.pack(">I", 10_000), "exceeds"),  # announces more than the limit
        (_body(b"not json"), "not JSON"),
        (_body(b"[1, 2]"), "JSON object"),
        (_body(b'{"x": 1}'), "string 't'"),
        (struct.pack(">I", 6) + struct.pack(">I", 50) + b"{}", "overruns"),
        (struct.pack(">I", 2) + b"{}", "shorter"),
    ],
)
def test_malformed_and_oversized_packets_raise(data: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        PacketDecoder(max_packet=1024).feed(data)


def test_header_fields_are_checked() -> None:
    header: dict[str, Any] = {"t": "done", "c": 3, "s": "1"}
    with pytest.raises(ProtocolError, match="'c' must be a string"):
        client_id(header)
    with pytest.raises(ProtocolError, match="'s' must be an integer"):
        integer(header, "s")
    with pytest.raises(ProtocolError, match="'reason' must be a string"):
        text(header, "reason")
    bad_text = PacketDecoder().feed(encode({"t": "msg"}, b"\xff\xfe"))[0]
    with pytest.raises(ProtocolError, match="UTF-8"):
        frame_of(bad_text)


SCOPE = {
    "type": "websocket",
    "http_version": "1.1",
    "scheme": "ws",
    "path": "/chat/lobby",
    "raw_path": b"/chat/lobby",
    "query_string": b"user=ada&x=%C3%A9",
    "root_path": "",
    "headers": [(b"host", b"example.com"), (b"cookie", b"a=1; b=\xe9")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 18308),
    "subprotocols": ["chat"],
    "extensions": {"websocket.http.response": {}},
    "state": {"engine": object()},
}


def test_a_scope_crosses_as_json_and_back() -> None:
    wire = orjson.loads(orjson.dumps(scope_to_wire(SCOPE)))
    scope = scope_from_wire(wire)
    for key in ("type", "path", "raw_path", "query_string", "headers", "subprotocols"):
        assert scope[key] == SCOPE[key], key
    assert scope["client"] == SCOPE["client"] and scope["server"] == SCOPE["server"]
    assert scope["extensions"] == {} and "state" not in scope  # engine things stay behind


@pytest.mark.parametrize(
    "wire",
    [
        None,
        {"type": "lifespan", "path": "/"},
        {"type": "http"},
        {"type": "http", "path": "/", "headers": "host: x"},
        {"type": "http", "path": "/", "headers": [["host"]]},
        {"type": "http", "path": "/", "headers": [["host", 1]]},
        {"type": "http", "path": "/", "headers": [["h", "\u20ac"]]},
        {"type": "http", "path": "/", "headers": [], "client": ["h"]},
        {"type": "http", "path": "/", "headers": [], "query_string": 3},
        {"type": "websocket", "path": "/", "headers": [], "subprotocols": [1]},
    ],
)
def test_malformed_scopes_raise(wire: Any) -> None:
    with pytest.raises(ProtocolError):
        scope_from_wire(wire)


async def _link_pair() -> tuple[Link, socket.socket]:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    return Link(reader, writer, name="test", queue_size=2, max_packet=1024), theirs


async def test_a_link_closes_on_an_oversized_packet() -> None:
    link, peer = await _link_pair()
    seen: list[Packet] = []
    try:
        peer.sendall(struct.pack(">I", 1_000_000))  # announces a packet over the limit
        async with asyncio.timeout(5):
            await link.run(seen.append)
        assert seen == []
        assert link.closed and link.errors == 1
        assert not link.send(encode({"t": "ready"}))  # counted as dropped, not queued
        assert link.dropped == 1
    finally:
        peer.close()


async def test_a_link_closes_on_a_packet_its_handler_cannot_read() -> None:
    link, peer = await _link_pair()

    def handle(packet: Packet) -> None:
        integer(packet.header, "s")

    try:
        peer.sendall(encode({"t": "done", "s": "x"}))
        async with asyncio.timeout(5):
            await link.run(handle)
        assert link.closed and link.errors == 1
    finally:
        peer.close()


async def test_a_link_queue_is_bounded() -> None:
    link, peer = await _link_pair()
    peer.setblocking(False)
    try:
        # not running yet: nothing is written, so the queue of two fills up
        assert link.send(b"a") and link.send(b"b")
        assert not link.send(b"c") and link.dropped == 1
        waiting = asyncio.ensure_future(link.put(b"d"))
        await asyncio.sleep(0.01)
        assert not waiting.done()  # put waits for room ...
        running = asyncio.ensure_future(link.run(lambda packet: None))
        assert await asyncio.wait_for(waiting, 5)  # ... which the writer makes
        received = b""
        async with asyncio.timeout(5):
            while len(received) < 3:
                await asyncio.sleep(0.01)
                try:
                    received += peer.recv(100)
                except BlockingIOError:
                    pass
        assert received == b"abd"
        peer.close()
        await asyncio.wait_for(running, 5)
        assert not await link.put(b"e")  # closed: put no longer waits
    finally:
        peer.close()
