"""The bus wire format: round trips, chunked streams, and arbitrary bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.bus.errors import ProtocolError
from framework.bus.protocol import (
    PacketDecoder,
    decode_body,
    delivery_body,
    delivery_from,
    encode,
    encode_body,
    frame,
)
from framework.websocket.bus import Delivery, Target

names = st.text(min_size=1, max_size=20)
deliveries = st.builds(
    Delivery,
    st.sampled_from(list(Target)),
    st.lists(names, max_size=5).map(tuple),
    st.one_of(st.text(max_size=200), st.binary(max_size=200)),
    st.frozensets(names, max_size=3),
)


@given(deliveries, st.one_of(st.none(), names))
def test_delivery_round_trip(delivery: Delivery, origin: str | None) -> None:
    body = delivery_body(delivery, origin)
    packet = decode_body(body)
    assert packet.type == "deliver" and packet.header["origin"] == origin
    assert delivery_from(packet) == delivery
    assert packet.raw == body  # what the hub forwards unchanged


@given(st.lists(deliveries, min_size=1, max_size=5), st.integers(1, 50))
def test_stream_in_any_chunks(items: list[Delivery], size: int) -> None:
    stream = b"".join(frame(delivery_body(d, "w")) for d in items)
    decoder = PacketDecoder()
    packets = []
    for start in range(0, len(stream), size):
        packets.extend(decoder.feed(stream[start : start + size]))
    assert [delivery_from(p) for p in packets] == items


@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_protocol_error(data: bytes) -> None:
    decoder = PacketDecoder(max_packet=1024)
    try:
        for packet in decoder.feed(data):
            assert isinstance(packet.header, dict) and isinstance(packet.type, str)
            if packet.type == "deliver":
                delivery_from(packet)
    except ProtocolError:
        pass


@given(st.binary(max_size=300))
def test_arbitrary_bodies_parse_or_raise_protocol_error(data: bytes) -> None:
    try:
        packet = decode_body(data)
    except ProtocolError:
        return
    assert isinstance(packet.type, str)


def test_bad_packets_say_what_is_wrong() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        PacketDecoder(max_packet=10).feed(encode({"t": "x"}, b"0123456789"))
    with pytest.raises(ProtocolError, match="string 't'"):
        decode_body(b"\x00\x00\x00\x02[]")
    with pytest.raises(ProtocolError, match="bad deliver"):
        delivery_from(decode_body(encode({"t": "deliver", "target": "nope", "keys": []})[4:]))
    with pytest.raises(ProtocolError, match="UTF-8"):
        header = {"t": "deliver", "target": "all", "keys": [], "origin": None}
        delivery_from(decode_body(encode_body(header, b"\xff")))
