from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.websocket import JsonParser, Message, ProtocolError, RawParser, TokenParser

frames = st.text() | st.binary()


@pytest.mark.parametrize("parser", [JsonParser(), TokenParser(), RawParser()])
@given(frame=frames)
def test_any_frame_parses_or_raises_protocol_error(parser: object, frame: str | bytes) -> None:
    try:
        message = parser.decode(frame)  # type: ignore[attr-defined]
    except ProtocolError:
        return
    assert isinstance(message, Message) and isinstance(message.cmd, str)
    assert message.ext is None or isinstance(message.ext, dict)


@given(
    cmd=st.text(),
    data=st.none() | st.integers(-(2**63), 2**64 - 1) | st.text() | st.lists(st.booleans()),
)
def test_json_round_trip(cmd: str, data: object) -> None:
    parser = JsonParser()
    frame = parser.encode(cmd, data, {"id": 3})
    assert json.loads(frame) == {"cmd": cmd, "data": data, "ext": {"id": 3}}
    assert parser.decode(frame) == Message(cmd, data, {"id": 3})


@given(cmd=st.text().filter(lambda c: ":" not in c), body=st.text())
def test_token_round_trip(cmd: str, body: str) -> None:
    parser = TokenParser()
    assert parser.decode(parser.encode(cmd, body, None)) == Message(cmd, body)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [("[1]", "JSON object"), ('{"cmd": 1}', '"cmd" must be a string'), ('{"ext": []}', '"ext"')],
)
def test_json_protocol_errors_say_what_is_wrong(frame: str, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        JsonParser().decode(frame)


def test_message_id_and_defaults() -> None:
    assert JsonParser().decode('{"cmd": "a", "ext": {"id": 9}}').id == 9
    assert JsonParser().decode("{}") == Message("", None, None)
    assert TokenParser().decode(b"lone") == Message("lone", "")
    assert RawParser().encode("", {"a": 1}, None) == '{"a":1}'
    assert RawParser().encode("", b"\x00", None) == b"\x00"
    assert TokenParser().encode("c", {"a": 1}, None) == 'c:{"a":1}'
    error = TokenParser().encode_error("c", {"code": 404, "message": "x"}, None)
    assert error == 'error:{"cmd":"c","error":{"code":404,"message":"x"}}'
