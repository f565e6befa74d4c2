"""Which handlers whole-frame dispatch may call with a text frame as it is."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from framework.websocket import Connection
from framework.websocket.binding import plan_handler
from framework.websocket.marks import Hook, WsModuleError


class Handlers:
    def text(self, data: str) -> str:
        return data

    def annotated(self, data: Annotated[str, "doc"]) -> str:
        return data

    def untyped(self, data):  # type: ignore[no-untyped-def]
        return data

    def typed_int(self, data: int) -> int:
        return data

    def two(self, conn: Connection, data: str) -> str:
        return data

    def keyword_only(self, *, data: str) -> str:
        return data

    def room(self, room: str) -> str:
        return room

    def nothing(self) -> None:
        return None


def taker(name: str, hook: Hook | None = None, path_names: frozenset[str] = frozenset()) -> Any:
    bound = getattr(Handlers(), name)
    function = getattr(Handlers, name)
    _, takes_text = plan_handler(
        bound,
        function,
        hook=hook,
        path_names=set(path_names),
        bean_getter=lambda hint: None,
        text=True,
        where="test",
        skip_first=True,
    )
    return takes_text


@pytest.mark.parametrize("name", ["text", "annotated"])
def test_a_lone_str_data_parameter_takes_the_frame(name: str) -> None:
    take = taker(name)
    assert take is not None
    assert take("hello") == "hello"
    assert taker(name, Hook.MESSAGE) is not None  # @on_message too


@pytest.mark.parametrize("name", ["untyped", "typed_int", "two", "keyword_only", "nothing"])
def test_other_signatures_go_through_binding(name: str) -> None:
    assert taker(name) is None


def test_path_parameters_and_lifecycle_hooks_are_not_frames() -> None:
    assert taker("room", path_names=frozenset({"room"})) is None
    for hook in (Hook.OPEN, Hook.CLOSE):  # these take no message data at all
        with pytest.raises(WsModuleError):
            taker("text", hook)
