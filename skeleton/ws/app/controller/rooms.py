"""The rooms over HTTP: push a message into a room from outside the WebSocket (a cron job,
another service, curl), through the Gateway API.

    curl --json '{"text": "deploy at 5"}' localhost:{{port}}/api/rooms/lobby/messages
"""

from typing import Any

from framework.http import controller, get, post

from app.model.chat import NewMessage
from app.service.chat import ChatService


@controller("/api/rooms")
class RoomController:
    def __init__(self, chat: ChatService) -> None:
        self.chat = chat

    @get("/{room}")
    async def show(self, room: str) -> dict[str, Any]:
        """Who is in the room."""
        return {"room": room, "members": await self.chat.members(room)}

    @post("/{room}/messages", status_code=202)
    async def push(self, room: str, message: NewMessage) -> dict[str, Any]:
        """Send ``{"text"}`` to the room as ``chat.message`` from ``system``."""
        delivered = await self.chat.announce(room, message.text)
        return {"room": room, "delivered": delivered}
