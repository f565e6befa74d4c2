"""ASGI 3 types at the boundary between an engine and the application.

Scopes and messages are ``TypedDict``s, as in Hypercorn's ``typing.py``, so that code handling
them is checked by mypy. Engines are third-party code with their own (equivalent) types; the
conversion happens in one place per engine, with a ``cast``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

__all__ = [
    "ASGIApp",
    "ASGIReceive",
    "ASGISend",
    "AnyASGIApp",
    "HTTPScope",
    "LifespanScope",
    "Message",
    "Scope",
    "WebSocketScope",
]

Headers: TypeAlias = Iterable[tuple[bytes, bytes]]


class ASGIVersions(TypedDict, total=False):
    spec_version: str
    version: Literal["2.0", "3.0"]


class HTTPScope(TypedDict):
    type: Literal["http"]
    asgi: ASGIVersions
    http_version: str
    method: str
    scheme: str
    path: str
    raw_path: bytes
    query_string: bytes
    root_path: str
    headers: Headers
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    state: NotRequired[dict[str, Any]]
    extensions: NotRequired[dict[str, dict[object, object]]]


class WebSocketScope(TypedDict):
    type: Literal["websocket"]
    asgi: ASGIVersions
    http_version: str
    scheme: str
    path: str
    raw_path: bytes
    query_string: bytes
    root_path: str
    headers: Headers
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    subprotocols: Iterable[str]
    state: NotRequired[dict[str, Any]]
    extensions: NotRequired[dict[str, dict[object, object]]]


class LifespanScope(TypedDict):
    type: Literal["lifespan"]
    asgi: ASGIVersions
    state: NotRequired[dict[str, Any]]


Scope: TypeAlias = HTTPScope | WebSocketScope | LifespanScope


class HTTPRequestMessage(TypedDict):
    type: Literal["http.request"]
    body: bytes
    more_body: bool


class HTTPResponseStartMessage(TypedDict):
    type: Literal["http.response.start"]
    status: int
    headers: Headers
    trailers: NotRequired[bool]


class HTTPResponseBodyMessage(TypedDict):
    type: Literal["http.response.body"]
    body: bytes
    more_body: NotRequired[bool]


class HTTPDisconnectMessage(TypedDict):
    type: Literal["http.disconnect"]


class WebSocketConnectMessage(TypedDict):
    type: Literal["websocket.connect"]


class WebSocketAcceptMessage(TypedDict):
    type: Literal["websocket.accept"]
    subprotocol: NotRequired[str | None]
    headers: NotRequired[Headers]


class WebSocketReceiveMessage(TypedDict):
    type: Literal["websocket.receive"]
    bytes: NotRequired[bytes | None]
    text: NotRequired[str | None]


class WebSocketSendMessage(TypedDict):
    type: Literal["websocket.send"]
    bytes: NotRequired[bytes | None]
    text: NotRequired[str | None]


class WebSocketDisconnectMessage(TypedDict):
    type: Literal["websocket.disconnect"]
    code: int
    reason: NotRequired[str | None]


class WebSocketCloseMessage(TypedDict):
    type: Literal["websocket.close"]
    code: NotRequired[int]
    reason: NotRequired[str | None]


class LifespanStartupMessage(TypedDict):
    type: Literal["lifespan.startup"]


class LifespanShutdownMessage(TypedDict):
    type: Literal["lifespan.shutdown"]


class LifespanCompleteMessage(TypedDict):
    type: Literal["lifespan.startup.complete", "lifespan.shutdown.complete"]


class LifespanFailedMessage(TypedDict):
    type: Literal["lifespan.startup.failed", "lifespan.shutdown.failed"]
    message: NotRequired[str]


ReceiveMessage: TypeAlias = (
    HTTPRequestMessage
    | HTTPDisconnectMessage
    | WebSocketConnectMessage
    | WebSocketReceiveMessage
    | WebSocketDisconnectMessage
    | LifespanStartupMessage
    | LifespanShutdownMessage
)
SendMessage: TypeAlias = (
    HTTPResponseStartMessage
    | HTTPResponseBodyMessage
    | WebSocketAcceptMessage
    | WebSocketSendMessage
    | WebSocketCloseMessage
    | LifespanCompleteMessage
    | LifespanFailedMessage
)
Message: TypeAlias = ReceiveMessage | SendMessage

ASGIReceive: TypeAlias = Callable[[], Awaitable[ReceiveMessage]]
ASGISend: TypeAlias = Callable[[SendMessage], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, ASGIReceive, ASGISend], Awaitable[None]]
"""An ASGI 3 application typed with these scopes and messages."""

AnyASGIApp: TypeAlias = Callable[[Any, Any, Any], Awaitable[None]]
"""Any ASGI 3 application, however precisely it types its arguments: what engines accept.

A callable taking ``dict[str, Any]`` scopes and one taking the ``TypedDict`` scopes above are
both valid ASGI apps, yet neither type is assignable to the other; the engine is the edge.
"""
