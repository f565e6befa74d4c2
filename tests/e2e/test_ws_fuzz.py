"""Malformed frames and messages never crash the worker: after each one, the same connection
still answers (Hypothesis-driven, both engines, json and token parsers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from framework import Application
from framework.testing.servers import serve_asgi_in_thread
from framework.websocket import (
    WebSocketExtension,
    message_mapping,
    ws_asgi_app,
    ws_controller,
    ws_module,
)


@ws_controller("")
class Echo:
    @message_mapping("echo")
    def echo(self, data: Any) -> Any:
        return data

    @message_mapping("add")
    def add(self, a: int, b: int) -> int:
        return a + b


@ws_module("/json", controllers=[Echo])
class JsonModule:
    pass


@ws_module("/token", controllers=[Echo], parser="token")
class TokenModule:
    pass


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=8,
)
messages = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200),
    st.fixed_dictionaries(
        {},
        optional={
            "cmd": json_like | st.sampled_from(["echo", "add", ""]),
            "data": json_like,
            "ext": json_like,
        },
    ).map(json.dumps),
)


@pytest.fixture(params=["hypercorn", "uvicorn"])
def base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    app = Application.from_classes(
        JsonModule,
        TokenModule,
        Echo,
        extensions=[WebSocketExtension()],
        config={"ws": {"ping_interval": 0}},
    )
    with serve_asgi_in_thread(ws_asgi_app(app), engine=request.param) as url:
        yield url.replace("http://", "ws://")


def still_answers(ws: ClientConnection, parser: str) -> None:
    if parser == "json":
        ws.send(json.dumps({"cmd": "echo", "data": "alive", "ext": {"id": "probe"}}))
        while True:
            reply = json.loads(ws.recv(timeout=5))
            if reply.get("ext") == {"id": "probe"}:
                assert reply["data"] == "alive"
                return
    ws.send("echo:alive")
    while ws.recv(timeout=5) != "echo:alive":
        pass


@pytest.mark.parametrize("parser", ["json", "token"])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frames=st.lists(messages, min_size=1, max_size=5))
def test_malformed_messages_never_break_the_connection(
    base_url: str, parser: str, frames: list[str | bytes]
) -> None:
    with connect(f"{base_url}/{parser}", max_size=None) as ws:
        for frame in frames:
            ws.send(frame)
        still_answers(ws, parser)
