"""Boot-time validation of modules and controllers, and the compiled command tables."""

from __future__ import annotations

from typing import Any

import pytest

from framework import Application
from framework.websocket import (
    DuplicateCommandError,
    WebSocketExtension,
    WsDeclarationError,
    WsModuleError,
    message_mapping,
    on_message,
    on_open,
    ws_controller,
    ws_module,
)


def boot(*classes: Any) -> Application:
    return Application.from_classes(*classes, extensions=[WebSocketExtension()])


@ws_controller
class RoomController:
    @message_mapping()
    def join(self) -> None: ...

    @message_mapping("leave")
    def leave(self) -> None: ...

    @message_mapping("version", root=True)
    def version(self) -> None: ...


@ws_controller("room")
class OtherRoomController:
    @message_mapping("join")
    def join_again(self) -> None: ...


def test_commands_get_the_prefix_unless_root() -> None:
    @ws_module("/rooms", controllers=[RoomController], default_command="version")
    class Rooms:
        pass

    module = boot(Rooms).extension(WebSocketExtension).modules["/rooms"]
    assert sorted(module.commands) == ["room.join", "room.leave", "version"]
    assert module.default is module.commands["version"]


def test_duplicate_commands_name_both_handlers() -> None:
    @ws_module("/rooms", controllers=[RoomController, OtherRoomController])
    class Rooms:
        pass

    with pytest.raises(DuplicateCommandError) as caught:
        boot(Rooms)
    message = str(caught.value)
    assert "'room.join'" in message
    assert "RoomController.join (" in message and "OtherRoomController.join_again (" in message
    assert "test_routing.py:" in message


def test_duplicate_paths_name_both_modules() -> None:
    @ws_module("/a/{x}", controllers=[RoomController])
    class First:
        pass

    @ws_module("/a/{y}", controllers=[RoomController])
    class Second:
        pass

    with pytest.raises(DuplicateCommandError, match=r"First .*\n.*Second"):
        boot(First, Second)


def test_a_module_must_handle_messages() -> None:
    @ws_module("/mute")
    class Mute:
        @on_open
        def opened(self) -> None: ...

    with pytest.raises(WsModuleError, match="no way to handle messages"):
        boot(Mute)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"controllers": [RoomController], "default_command": "nope"}, "is not a command"),
        ({"controllers": [RoomController], "parser": "xml"}, "unknown WebSocket parser"),
        ({"controllers": [RoomController], "parser": object()}, "no decode"),
        ({"controllers": [int]}, "not a @ws_controller"),
    ],
)
def test_module_declaration_errors(kwargs: dict[str, Any], problem: str) -> None:
    @ws_module("/x", **kwargs)
    class Bad:
        pass

    with pytest.raises(WsModuleError, match=problem):
        boot(Bad)


def test_on_message_excludes_controllers_and_hooks_are_single() -> None:
    @ws_module("/both", controllers=[RoomController])
    class Both:
        @on_message
        def received(self) -> None: ...

    with pytest.raises(WsModuleError, match="both @on_message"):
        boot(Both)

    @ws_module("/twice")
    class Twice:
        @on_message
        def one(self) -> None: ...

        @on_message
        def two(self) -> None: ...

    with pytest.raises(WsModuleError, match="two @on_message"):
        boot(Twice)


def test_hooks_cannot_take_message_data() -> None:
    @ws_module("/r/{room}", controllers=[RoomController])
    class Hooked:
        @on_open
        def opened(self, room: str, payload: dict[str, Any]) -> None: ...

    with pytest.raises(WsModuleError, match="'payload' that cannot be bound"):
        boot(Hooked)


def test_decoration_time_errors() -> None:
    with pytest.raises(WsDeclarationError, match="must start with '/'"):
        ws_module("chat")
    with pytest.raises(WsDeclarationError):
        message_mapping("has space")
    with pytest.raises(WsDeclarationError, match="must not end with"):
        ws_controller("chat.")


def test_gateway_is_a_bean() -> None:
    from framework.websocket import Gateway

    @ws_module("/rooms", controllers=[RoomController])
    class Rooms:
        pass

    app = boot(Rooms)
    assert app.container.get(Gateway) is app.extension(WebSocketExtension).gateway
