"""The chat: module ``/chat`` with the JSON parser, and its commands.

Requests are ``{"cmd": "chat.<command>", "data": {...}, "ext": {"id": 1}}``; the reply carries
the same ``ext.id`` (client.js resolves ``client.send(...)`` with it):

=============  ======================  ==================================================
command        data                    reply
=============  ======================  ==================================================
``chat.join``  ``{"room", "name"}``    ``{"room", "members": [names]}``; the others get
                                       ``chat.joined``
``chat.send``  ``{"room", "text"}``    an acknowledgement; everyone in the room, you
                                       included, gets ``chat.message``
``chat.leave`` ``{"room"}``            an acknowledgement; the others get ``chat.left``
=============  ======================  ==================================================

Sending to or leaving a room you did not join is answered with error 403; an empty or too
long room, name or text with 422. Closing the socket leaves every room (``chat.left``).
"""

from typing import Any

from framework.websocket import (
    Connection,
    Session,
    message_mapping,
    on_close,
    ws_controller,
    ws_module,
)

from app.model.chat import Join, Leave, Say
from app.service.chat import ChatService


@ws_controller("chat")
class ChatController:
    def __init__(self, chat: ChatService) -> None:
        self.chat = chat

    @message_mapping("join")
    async def join(self, conn: Connection, data: Join) -> dict[str, Any]:
        members = await self.chat.join(conn.id, data.room, data.name)
        return {"room": data.room, "members": members}

    @message_mapping("send")
    async def send(self, conn: Connection, data: Say) -> None:
        await self.chat.send(conn.id, data.room, data.text)

    @message_mapping("leave")
    async def leave(self, conn: Connection, data: Leave) -> None:
        await self.chat.leave(conn.id, data.room)


@ws_module("/chat", controllers=[ChatController])
class ChatModule:
    def __init__(self, chat: ChatService) -> None:
        self.chat = chat

    @on_close
    async def closed(self, session: Session) -> None:
        await self.chat.disconnected(session.get("rooms", {}))
