"""The WebSocket decorators: ``ws_module``, the lifecycle hooks, ``ws_controller`` and
``message_mapping``.

They only record frozen marks (STYLE.md §2); :class:`~framework.websocket.WebSocketExtension`
reads them at boot, validates them across modules and controllers and compiles one command
table per module.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from framework import marks
from framework.container.marks import BeanMark
from framework.errors import BootError, FrameworkError

__all__ = [
    "DuplicateCommandError",
    "Hook",
    "HookMark",
    "MessageMappingMark",
    "WsControllerMark",
    "WsDeclarationError",
    "WsModuleError",
    "WsModuleMark",
    "default_ws_prefix",
    "message_mapping",
    "on_close",
    "on_handshake",
    "on_message",
    "on_open",
    "ws_controller",
    "ws_module",
]

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

_COMMAND = re.compile(r"^[^\s:]+$")


class WsDeclarationError(FrameworkError):
    """A WebSocket decorator was given arguments it cannot use (raised at decoration time)."""


class WsModuleError(BootError):
    """WebSocket modules or controllers cannot be compiled as declared (raised at boot)."""


class DuplicateCommandError(WsModuleError):
    """Two handlers of one module map the same command (or two modules the same path)."""


class Hook(enum.Enum):
    """The lifecycle hooks of a ``ws_module``."""

    HANDSHAKE = "on_handshake"
    OPEN = "on_open"
    MESSAGE = "on_message"
    CLOSE = "on_close"


@dataclass(frozen=True, slots=True)
class WsModuleMark:
    """Recorded by :func:`ws_module`."""

    path: str
    controllers: tuple[type, ...] = ()
    parser: Any = "json"
    default_command: str | None = None


@dataclass(frozen=True, slots=True)
class HookMark:
    """Recorded by :func:`on_handshake`, :func:`on_open`, :func:`on_message`, :func:`on_close`."""

    hook: Hook


@dataclass(frozen=True, slots=True)
class WsControllerMark:
    """Recorded by :func:`ws_controller`. ``prefix`` is ``None`` for the class-name default."""

    prefix: str | None = None


@dataclass(frozen=True, slots=True)
class MessageMappingMark:
    """Recorded by :func:`message_mapping`. ``command`` ``None`` means the method name."""

    command: str | None = None
    root: bool = False


def default_ws_prefix(cls: type) -> str:
    """Swoft's implicit prefix: ``ChatController`` -> ``chat``, ``RoomUserController`` ->
    ``roomUser`` (the class name without ``Controller``, in lower camel case)."""
    name = cls.__name__
    if name.endswith("Controller") and name != "Controller":
        name = name[: -len("Controller")]
    return name[:1].lower() + name[1:]


def _check_command(command: str, what: str) -> None:
    if not _COMMAND.match(command):
        raise WsDeclarationError(
            f"{what} {command!r} is empty or contains whitespace or ':'; "
            "write a command like 'chat.send' or 'send'."
        )


def ws_module(
    path: str,
    *,
    controllers: Iterable[type] = (),
    parser: Any = "json",
    default_command: str | None = None,
) -> Callable[[C], C]:
    """Make a class a WebSocket module: a singleton bean owning the connections of ``path``.

    Args:
        path: the WebSocket path, with ``{var}`` parameters as HTTP routes have
            (``"/chat/{room}"``); handlers receive them by name.
        controllers: the ``@ws_controller`` classes whose ``@message_mapping`` commands this
            module routes.
        parser: ``"json"`` (``{"cmd", "data", "ext"}``, the default), ``"token"``
            (``cmd:body``), ``"raw"`` (whole frames), or a parser class or instance (see
            :class:`~framework.websocket.Parser`).
        default_command: the command run for messages whose command is empty or unknown
            (``raw`` parser messages have no command at all), as Swoft's ``defaultCommand``.

    Returns:
        The class itself, unchanged (it also carries a bean mark).

    Raises:
        WsDeclarationError: ``path`` does not start with ``/`` or ``default_command`` is not
            a command. Modules that cannot handle messages, duplicate paths and commands are
            reported at boot (:class:`WsModuleError`).

    Example::

        >>> from framework.websocket import on_open, ws_module
        >>> @ws_module("/echo", parser="raw", default_command="echo")
        ... class EchoModule:
        ...     @on_open
        ...     async def opened(self, conn) -> None: ...
        >>> EchoModule.__name__
        'EchoModule'
    """
    if not path.startswith("/"):
        raise WsDeclarationError(f"ws_module path {path!r} must start with '/'; write '/{path}'.")
    if default_command is not None:
        _check_command(default_command, "default_command")
    found = tuple(controllers)
    for cls in found:
        if not isinstance(cls, type):
            raise WsDeclarationError(
                f"ws_module controllers must be classes decorated with @ws_controller; got {cls!r}."
            )
    mark = WsModuleMark(path, found, parser, default_command)

    def record(cls: C) -> C:
        marks.attach(cls, mark)
        if marks.first(cls, BeanMark) is None:
            marks.attach(cls, BeanMark())
        return cls

    return record


def _hook(kind: Hook, fn: F) -> F:
    return marks.attach(fn, HookMark(kind))


def on_handshake(fn: F) -> F:
    """Run the method when a client asks to connect, before the connection is accepted.

    It may take the :class:`~framework.websocket.Connection` (path params, ``query``,
    ``headers``, ``cookies``, ``session``), path parameters by name, and beans. Raise
    ``HTTPException(401, "login first")`` (or return ``False`` for 403) to reject; return a
    dict to accept and add it to the session, or ``None``/``True`` to accept.

    Example::

        >>> from framework.websocket import on_handshake
        >>> class ChatModule:
        ...     @on_handshake
        ...     def check(self, conn) -> dict[str, str]:
        ...         return {"user": conn.query.get("user", "guest")}
    """
    return _hook(Hook.HANDSHAKE, fn)


def on_open(fn: F) -> F:
    """Run the method once the connection is accepted (it may already send and join groups).

    Example::

        >>> from framework.websocket import on_open
        >>> class ChatModule:
        ...     @on_open
        ...     async def opened(self, conn) -> None: ...
    """
    return _hook(Hook.OPEN, fn)


def on_message(fn: F) -> F:
    """Handle every message of the module yourself, bypassing command routing (as in Swoft).

    It receives the raw frame (``frame: str | bytes``) and/or the connection; a returned
    value is sent back as is (``str``/``bytes``) or JSON-encoded.

    Example::

        >>> from framework.websocket import on_message
        >>> class RawModule:
        ...     @on_message
        ...     def received(self, frame: str) -> str:
        ...         return frame.upper()
    """
    return _hook(Hook.MESSAGE, fn)


def on_close(fn: F) -> F:
    """Run the method after the connection closed; ``code: int`` and ``reason: str`` are
    bound by name, with the connection, its session and beans.

    Example::

        >>> from framework.websocket import on_close
        >>> class ChatModule:
        ...     @on_close
        ...     def closed(self, conn, code: int, reason: str) -> None: ...
    """
    return _hook(Hook.CLOSE, fn)


@overload
def ws_controller(cls: C, /) -> C: ...
@overload
def ws_controller(prefix: str | None = None, /) -> Callable[[C], C]: ...
def ws_controller(prefix: str | type | None = None, /) -> Any:
    """Make a class a WebSocket controller: a bean whose ``@message_mapping`` methods handle
    the commands ``prefix.command`` of the modules that list it in ``controllers``.

    Args:
        prefix: prepended to each command with a dot. Omitted, it is the class name without
            ``Controller`` in lower camel case (``ChatController`` -> ``chat``); ``""`` means
            no prefix.

    Raises:
        WsDeclarationError: the prefix contains whitespace, ``:`` or ends with ``.``.

    Example::

        >>> from framework.websocket import message_mapping, ws_controller
        >>> @ws_controller("chat")
        ... class ChatController:
        ...     @message_mapping("send")              # command "chat.send"
        ...     def send(self, data: dict) -> dict:
        ...         return data
    """
    if isinstance(prefix, type):
        return _record_controller(prefix, None)
    if prefix:
        _check_command(prefix, "ws_controller prefix")
        if prefix.endswith("."):
            raise WsDeclarationError(
                f"ws_controller prefix {prefix!r} must not end with '.'; the dot is added."
            )

    def record(cls: C) -> C:
        return _record_controller(cls, prefix)

    return record


def _record_controller(cls: C, prefix: str | None) -> C:
    marks.attach(cls, WsControllerMark(prefix))
    if marks.first(cls, BeanMark) is None:
        marks.attach(cls, BeanMark())
    return cls


def message_mapping(command: str | None = None, *, root: bool = False) -> Callable[[F], F]:
    """Map a controller method to the command ``prefix.command``.

    Args:
        command: the command; ``None`` uses the method name.
        root: ``True`` maps ``command`` as is, without the controller prefix (Swoft's
            ``root=true``).

    Handler parameters are bound by type: the message data (converted to the annotation:
    dataclasses, ``TypedDict``, ``int``...; a bad value is answered with error 422), the
    :class:`~framework.websocket.Connection`, its :class:`~framework.websocket.Session`, the
    :class:`~framework.websocket.Message`, path parameters by name, and beans. The returned
    value is sent to the sender as the reply.

    Raises:
        WsDeclarationError: the command is empty or contains whitespace or ``:``.

    Example::

        >>> from framework.websocket import message_mapping
        >>> class ChatController:
        ...     @message_mapping("ping", root=True)   # command "ping"
        ...     def ping(self) -> str:
        ...         return "pong"
    """
    if command is not None:
        _check_command(command, "message_mapping command")
    return marks.recorder(MessageMappingMark(command, root))
