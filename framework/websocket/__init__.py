"""WebSocket: modules, controllers, parsers, the Gateway API and the browser client.

```python
from framework.websocket import message_mapping, on_open, ws_controller, ws_module

@ws_controller("chat")
class ChatController:
    @message_mapping("send")                 # {"cmd": "chat.send", "data": ...}
    def send(self, data: str) -> str:
        return data

@ws_module("/chat/{room}", controllers=[ChatController])
class ChatModule:
    @on_open
    async def opened(self, conn, room: str) -> None: ...
```

See docs/websocket.md, docs/gateway.md and docs/client-js.md.
"""

from framework.websocket.asgi import CLIENT_JS_PATH, WebSocketApp, ws_asgi_app
from framework.websocket.binding import MessageValidationError
from framework.websocket.bus import Bus, Change, Delivery, InProcessBus, Query, Target
from framework.websocket.clientid import ClientId, ClientIdFactory
from framework.websocket.connection import CloseCode, Connection, ConnectionState, Session
from framework.websocket.extension import WebSocketExtension
from framework.websocket.gateway import Gateway
from framework.websocket.marks import (
    DuplicateCommandError,
    WsDeclarationError,
    WsModuleError,
    message_mapping,
    on_close,
    on_handshake,
    on_message,
    on_open,
    ws_controller,
    ws_module,
)
from framework.websocket.parsers import (
    JsonParser,
    Message,
    Parser,
    ProtocolError,
    RawParser,
    TokenParser,
)
from framework.websocket.settings import WsSettings

__all__ = [
    "CLIENT_JS_PATH",
    "Bus",
    "Change",
    "ClientId",
    "ClientIdFactory",
    "CloseCode",
    "Connection",
    "ConnectionState",
    "Delivery",
    "DuplicateCommandError",
    "Gateway",
    "InProcessBus",
    "JsonParser",
    "Message",
    "MessageValidationError",
    "Parser",
    "ProtocolError",
    "Query",
    "RawParser",
    "Session",
    "Target",
    "TokenParser",
    "WebSocketApp",
    "WebSocketExtension",
    "WsDeclarationError",
    "WsModuleError",
    "WsSettings",
    "message_mapping",
    "on_close",
    "on_handshake",
    "on_message",
    "on_open",
    "ws_asgi_app",
    "ws_controller",
    "ws_module",
]
