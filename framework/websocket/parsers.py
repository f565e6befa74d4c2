"""Message parsers, sans-IO: a frame (``str`` or ``bytes``) in, a :class:`Message` out, and
replies back to frames.

========  ====================================================  ==========================
parser    a request frame                                       a reply frame
========  ====================================================  ==========================
``json``  ``{"cmd": "chat.send", "data": ..., "ext": {"id": 7}}``  ``{"cmd", "data", "ext"}``
``token`` ``chat.send:hello`` (``cmd:body``)                    ``chat.send:<body>``
``raw``   anything; the command is the module's default         the value as is
========  ====================================================  ==========================

Errors are ``{"cmd": ..., "error": {"code": ..., "message": ...}, "ext": {"id": ...}}`` for
``json`` (and ``raw``), and ``error:<that JSON>`` for ``token``. A parser raises
:class:`ProtocolError` for a frame it cannot read, never anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

import orjson

from framework.errors import FrameworkError

__all__ = [
    "PARSERS",
    "JsonParser",
    "Message",
    "Parser",
    "ProtocolError",
    "RawParser",
    "TokenParser",
    "encode_value",
]


class ProtocolError(FrameworkError):
    """A frame the parser cannot read (not JSON, not an object, a ``cmd`` that is not a
    string...). The connection stays open; the client gets an error reply with code 400."""


@dataclass(slots=True)
class Message:
    """One parsed message: its command, its data, and its ``ext`` (request id, metadata)."""

    cmd: str
    data: Any = None
    ext: dict[str, Any] | None = None

    @property
    def id(self) -> Any:
        """The request id (``ext.id``) the reply echoes, or ``None``."""
        ext = self.ext
        return None if ext is None else ext.get("id")


@runtime_checkable
class Parser(Protocol):
    """What a module's ``parser=`` must provide (a class with a no-argument constructor, or an
    instance). ``encode_error`` and ``ping`` are optional: JSON errors and no heartbeat
    pings are used when they are missing."""

    def decode(self, frame: str | bytes) -> Message:
        """The message in ``frame``.

        Raises:
            ProtocolError: the frame cannot be read.
        """
        ...

    def encode(self, cmd: str, data: Any, ext: dict[str, Any] | None) -> str | bytes:
        """The frame of a reply or push (``str``: a text frame, ``bytes``: a binary one)."""
        ...


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


_FRAME_TYPES = (str, bytes)


def encode_value(value: Any) -> str | bytes:
    """A gateway payload as a frame: ``str`` and ``bytes`` as they are, anything else JSON."""
    if isinstance(value, _FRAME_TYPES):  # a tuple: cheaper than ``str | bytes`` per call
        return value
    return _dumps(value)


def _error_object(cmd: str, error: dict[str, Any], ext: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"cmd": cmd, "error": error}
    if ext:
        out["ext"] = ext
    return out


class JsonParser:
    """Swoft's JSON protocol: ``{"cmd": str, "data": any, "ext": object}``; only ``cmd`` is
    required. Replies are ``{"cmd", "data"}`` plus ``"ext"`` when the request had one."""

    name: Final = "json"
    text_data: Final = False

    def decode(self, frame: str | bytes) -> Message:
        try:
            value = orjson.loads(frame)
        except orjson.JSONDecodeError as exc:
            raise ProtocolError(f"message is not valid JSON: {exc}") from None
        if type(value) is not dict:
            raise ProtocolError('message must be a JSON object like {"cmd": "...", "data": ...}')
        cmd = value.get("cmd", "")
        if type(cmd) is not str:
            raise ProtocolError(f'"cmd" must be a string, got {type(cmd).__name__}')
        ext = value.get("ext")
        if ext is not None and type(ext) is not dict:
            raise ProtocolError(f'"ext" must be an object, got {type(ext).__name__}')
        return Message(cmd, value.get("data"), ext)

    def encode(self, cmd: str, data: Any, ext: dict[str, Any] | None) -> str:
        if ext:
            return _dumps({"cmd": cmd, "data": data, "ext": ext})
        return _dumps({"cmd": cmd, "data": data})

    def encode_error(self, cmd: str, error: dict[str, Any], ext: dict[str, Any] | None) -> str:
        return _dumps(_error_object(cmd, error, ext))

    def ping(self) -> str:
        return '{"cmd":"ping"}'


class TokenParser:
    """Swoft's token-text protocol: ``cmd:body``. A frame without ``:`` is a command with an
    empty body. Bodies are text; non-text reply data is sent as JSON. No request ids."""

    name: Final = "token"
    text_data: Final = True  # bodies are text: handler parameters convert "42" to 42

    def decode(self, frame: str | bytes) -> Message:
        if isinstance(frame, bytes):
            try:
                frame = frame.decode()
            except UnicodeDecodeError:
                raise ProtocolError("token message is not UTF-8 text") from None
        cmd, _, body = frame.partition(":")
        return Message(cmd, body, None)

    def encode(self, cmd: str, data: Any, ext: dict[str, Any] | None) -> str:
        if data is None:
            return f"{cmd}:"
        if isinstance(data, bytes):
            data = data.decode(errors="replace")
        return f"{cmd}:{data if isinstance(data, str) else _dumps(data)}"

    def encode_error(self, cmd: str, error: dict[str, Any], ext: dict[str, Any] | None) -> str:
        return "error:" + _dumps(_error_object(cmd, error, ext))

    def ping(self) -> str:
        return "ping:"


class RawParser:
    """Whole frames: every message goes to the module's ``default_command`` (or
    ``@on_message``) with the frame as its data; replies are sent as they are (``str``,
    ``bytes``) or as JSON. No heartbeat pings (nothing a raw client would understand)."""

    name: Final = "raw"
    text_data: Final = True

    def decode(self, frame: str | bytes) -> Message:
        return Message("", frame, None)

    def encode(self, cmd: str, data: Any, ext: dict[str, Any] | None) -> str | bytes:
        return encode_value(data)

    def encode_error(self, cmd: str, error: dict[str, Any], ext: dict[str, Any] | None) -> str:
        return _dumps(_error_object(cmd, error, ext))

    def ping(self) -> None:
        return None


PARSERS: dict[str, type[Any]] = {"json": JsonParser, "token": TokenParser, "raw": RawParser}
"""The built-in parsers by the name ``ws_module(parser=...)`` accepts."""
