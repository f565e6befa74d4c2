"""A ws chat worker in a process of its own, for tests that kill it or add a host.

Run as ``python chat_worker.py '<ws config as JSON>'``: it serves on a free port, prints its
URL, and serves until killed. Not a test module (pytest does not collect it).
"""

import asyncio
import json
import sys

from framework import Application
from framework.testing.servers import serve_asgi
from framework.websocket import (
    Connection,
    Gateway,
    WebSocketExtension,
    message_mapping,
    ws_asgi_app,
    ws_controller,
    ws_module,
)


@ws_controller("chat")
class ChatController:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @message_mapping("login")
    async def login(self, conn: Connection, data: str) -> str:
        await self.gateway.bind_uid(conn.id, data)
        await self.gateway.join_group(conn.id, "lobby")
        return conn.id


@ws_module("/chat", controllers=[ChatController])
class ChatModule:
    pass


async def main() -> None:
    config = {"ws": json.loads(sys.argv[1])}
    app = Application.from_classes(
        ChatModule, ChatController, extensions=[WebSocketExtension()], config=config
    )
    async with serve_asgi(ws_asgi_app(app)) as url:
        print(url, flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
