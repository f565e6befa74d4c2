"""Per message: decode, route, call, reply; every failure becomes an error reply.

Error replies (the connection stays open) carry the command and the request id:
``{"cmd": "<cmd>", "error": {"code": ..., "message": ...}, "ext": {"id": ...}}``

=====  =================================================================================
code   when
=====  =================================================================================
400    the frame cannot be parsed (bad JSON, ``cmd`` not a string ...)
404    no handler for the command and no ``default_command``
422    the data does not fit the handler's parameters (``errors`` lists each field)
4xx    the handler raised ``HTTPException(status, message)``
500    the handler raised anything else (logged with its traceback on ``swoop.websocket``)
=====  =================================================================================

An ``@exception_handler`` for the exception's class (the nearest in its MRO) runs first, as
for HTTP: it is called with ``(exc)`` or ``(exc, conn)``; a returned dict becomes the
``error`` object (``{"code": 409, "message": "taken"}``), an HTTP ``Response`` gives its
status and body, ``None`` sends nothing.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import orjson

from framework.blank import blank_of
from framework.container.container import Container
from framework.http.errors import ExceptionHandlers, HTTPException
from framework.websocket.connection import Connection
from framework.websocket.parsers import Message, ProtocolError, RawParser, encode_value
from framework.websocket.routing import CompiledModule, Handler

__all__ = ["Dispatcher"]

log = logging.getLogger("swoop.websocket")

_HEARTBEAT = frozenset({"ping", "pong"})
_new_message = blank_of(Message)


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


class Dispatcher:
    """Runs the messages of one module (see the module docs)."""

    __slots__ = (
        "_commands",
        "_container",
        "_default",
        "_encode",
        "_encode_error",
        "_errors",
        "_message",
        "_parser",
        "_scoped",
        "entry",
        "module",
    )  # fmt: skip

    def __init__(
        self, module: CompiledModule, errors: ExceptionHandlers, container: Container
    ) -> None:
        self.module = module
        self._parser = module.parser
        self._commands = module.commands
        self._default = module.default
        self._message = module.message
        self._encode = module.parser.encode
        encode_error: Callable[..., Any] | None = getattr(module.parser, "encode_error", None)
        self._encode_error = encode_error or _json_error
        self._errors = errors
        self._container = container
        self._scoped = container.has_request_beans
        #: what the receive loop calls per message: without request beans, one coroutine less,
        #: and for a raw module (every frame goes to one handler) no decoding or lookup
        self.entry: Callable[[Connection, str | bytes], Awaitable[None]] = self.__call__
        if not self._scoped:
            whole = self._whole_frames()
            self.entry = self._run if whole is None else self._frames_to(whole)

    async def __call__(self, conn: Connection, frame: str | bytes) -> None:
        if self._scoped:
            async with self._container.request_scope():
                await self._run(conn, frame)
        else:
            await self._run(conn, frame)

    async def _run(self, conn: Connection, frame: str | bytes) -> None:
        if self._message is not None:
            await self._raw(self._message, conn, frame)
            return
        try:
            msg = self._parser.decode(frame)
        except ProtocolError as exc:
            await self._error(conn, "", None, 400, str(exc))
            return
        except Exception as exc:  # a user parser broke its contract: still never crash
            log.error("parser %r failed on a frame", self._parser, exc_info=exc)
            await self._error(conn, "", None, 400, "message cannot be parsed")
            return
        cmd = msg.cmd
        handler = self._commands.get(cmd)
        if handler is None:
            if cmd in _HEARTBEAT:
                if cmd == "ping":
                    await conn.reply(self._encode("pong", None, None))
                return
            handler = self._default
            if handler is None:
                await self._error(conn, cmd, msg, 404, f"unknown command {cmd!r}")
                return
        try:
            result = handler.invoke(conn, msg)
            if handler.is_async or inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            await self._failed(conn, cmd, msg, exc)
            return
        ext = msg.ext  # msg.id, inlined: this runs for every message
        request_id = None if ext is None else ext.get("id")
        if result is None and request_id is None:
            return
        try:
            reply = self._encode(cmd, result, None if request_id is None else {"id": request_id})
        except Exception as exc:  # data the parser cannot encode: a handler bug
            await self._failed(conn, cmd, msg, exc)
            return
        if not conn.reply_now(reply):
            await conn.reply(reply)

    def _whole_frames(self) -> Handler | None:
        """The one handler every frame goes to undecoded: ``@on_message``, or the command
        the raw parser routes every frame to (its ``""``, else the default); else ``None``."""
        if self._message is not None:
            return self._message
        if type(self._parser) is RawParser:
            return self._commands.get("", self._default)
        return None

    def _frames_to(self, handler: Handler) -> Callable[[Connection, str | bytes], Awaitable[None]]:
        # _raw itself with the handler bound: the receive loop awaits it, no coroutine between
        return functools.partial(self._raw, handler)

    async def _raw(self, handler: Handler, conn: Connection, frame: str | bytes) -> None:
        try:
            takes_text = handler.takes_text
            if takes_text is not None and type(frame) is str:
                result = takes_text(frame)  # no Message, no conversion: see Handler
            else:
                msg = _new_message()  # Message("", frame, None), cheaper
                msg.cmd, msg.data, msg.ext = "", frame, None
                result = handler.invoke(conn, msg)
            if handler.is_async or inspect.isawaitable(result):
                result = await result
            if result is not None:
                reply = encode_value(result)
                if not conn.reply_now(reply):
                    await conn.reply(reply)
        except Exception as exc:
            await self._failed(conn, "", Message("", frame, None), exc)

    async def _failed(self, conn: Connection, cmd: str, msg: Message, exc: Exception) -> None:
        registered = self._errors.find(type(exc))
        if registered is not None:
            try:
                args = (exc, conn) if registered.takes_request else (exc,)
                result = registered.function(*args)
                if registered.is_async or inspect.isawaitable(result):
                    result = await result
            except Exception as failure:
                log.error(
                    "exception handler %s failed while handling %r",
                    registered.where,
                    exc,
                    exc_info=failure,
                )
                await self._error(conn, cmd, msg, 500, _phrase(500))
                return
            if result is not None:
                await self._send_error(conn, cmd, msg, _error_object(result))
            return
        if isinstance(exc, HTTPException):
            await self._send_error(conn, cmd, msg, exc.body())
            return
        log.error("unhandled error in WebSocket command %r of %s", cmd, conn.id, exc_info=exc)
        await self._error(conn, cmd, msg, 500, _phrase(500))

    async def _error(
        self, conn: Connection, cmd: str, msg: Message | None, code: int, message: str
    ) -> None:
        await self._send_error(conn, cmd, msg, {"code": code, "message": message})

    async def _send_error(
        self, conn: Connection, cmd: str, msg: Message | None, error: dict[str, Any]
    ) -> None:
        request_id = None if msg is None else msg.id
        ext = None if request_id is None else {"id": request_id}
        await conn.reply(self._encode_error(cmd, error, ext))


def _json_error(cmd: str, error: dict[str, Any], ext: dict[str, Any] | None) -> str:
    out: dict[str, Any] = {"cmd": cmd, "error": error}
    if ext:
        out["ext"] = ext
    return orjson.dumps(out).decode()


def _error_object(result: Any) -> dict[str, Any]:
    """What an exception handler returned, as the ``error`` object of the reply."""
    if isinstance(result, dict):
        return result
    status = getattr(result, "status_code", None)
    body = getattr(result, "body", None)
    if isinstance(status, int) and isinstance(body, bytes):  # an HTTP Response
        try:
            decoded = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            decoded = body.decode(errors="replace")
        if isinstance(decoded, dict):
            return {"code": status, **decoded} if "code" not in decoded else decoded
        return {"code": status, "message": decoded or _phrase(status)}
    return {"code": 500, "message": str(result)}
