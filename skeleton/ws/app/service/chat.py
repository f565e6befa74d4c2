"""Chat rooms on the Gateway API.

A room is the gateway group ``room:<name>``. Each connection's session remembers the rooms it
joined and the name it uses in each: ``{"rooms": {"lobby": "ada"}}``. This bean keeps no state
of its own; everything goes through the gateway, so it keeps working when the gateway spans
several workers (docs/gateway.md).

Pushes (``{"cmd", "data"}``, dispatched by client.js to ``client.on(cmd, ...)``):

* ``chat.joined {"room", "name"}``: someone joined (to the others in the room);
* ``chat.left {"room", "name"}``: someone left or closed the page;
* ``chat.message {"room", "from", "text", "ts"}``: to everyone in the room, sender included;
  ``ts`` is the server's Unix time in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from framework import bean
from framework.websocket import Gateway

#: The sender of messages pushed over HTTP; no user may take the name.
SYSTEM = "system"
MAX_ROOM = 64
MAX_NAME = 32
MAX_TEXT = 2000


class ChatError(Exception):
    """A chat request that cannot be served; ``status`` says why, as an HTTP status would."""

    status = 400


class NotInRoomError(ChatError):
    """The connection asked for a room it has not joined."""

    status = 403


class InvalidInputError(ChatError):
    """A room, name or text is empty, too long, or reserved."""

    status = 422


def group(room: str) -> str:
    """The gateway group of a room (prefixed, so other groups never collide with rooms)."""
    return f"room:{room}"


def push(cmd: str, data: Any) -> dict[str, Any]:
    return {"cmd": cmd, "data": data}


def check(field: str, value: str, limit: int) -> str:
    """``value``, unchanged, once it is known to be usable.

    Raises:
        InvalidInputError: it is blank, or longer than ``limit`` characters.
    """
    if not value.strip():
        raise InvalidInputError(f"{field} must not be empty")
    if len(value) > limit:
        raise InvalidInputError(f"{field} is longer than {limit} characters")
    return value


@bean
class ChatService:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def join(self, client_id: str, room: str, name: str) -> list[str]:
        """Put the client in ``room`` as ``name``, tell the others; return the members' names.

        Joining a room again (after a reconnect, or under another name) is allowed.

        Raises:
            InvalidInputError: a bad room or name, or the name ``system``.
        """
        room, name = check("room", room, MAX_ROOM), check("name", name, MAX_NAME).strip()
        if name.lower() == SYSTEM:
            raise InvalidInputError(f"the name {name!r} is reserved; choose another")
        rooms = await self.rooms_of(client_id)
        before, rooms[room] = rooms.get(room), name
        await self.gateway.update_session(client_id, {"rooms": rooms})
        await self.gateway.join_group(client_id, group(room))
        if before is not None and before != name:  # a new name: the old one leaves
            left = push("chat.left", {"room": room, "name": before})
            await self.gateway.send_to_group(group(room), left, exclude=client_id)
        if before != name:
            joined = push("chat.joined", {"room": room, "name": name})
            await self.gateway.send_to_group(group(room), joined, exclude=client_id)
        return await self.members(room)

    async def leave(self, client_id: str, room: str) -> None:
        """Take the client out of ``room`` and tell the others.

        Raises:
            NotInRoomError: the client is not in the room.
        """
        rooms = await self.rooms_of(client_id)
        if room not in rooms:
            raise NotInRoomError(f"you are not in room {room!r}")
        name = rooms.pop(room)
        await self.gateway.update_session(client_id, {"rooms": rooms})
        await self.gateway.leave_group(client_id, group(room))
        left = push("chat.left", {"room": room, "name": name})
        await self.gateway.send_to_group(group(room), left)

    async def send(self, client_id: str, room: str, text: str) -> None:
        """Deliver ``text`` to everyone in ``room``, the sender included.

        Raises:
            NotInRoomError: the client has not joined the room.
            InvalidInputError: the text is empty or too long.
        """
        rooms = await self.rooms_of(client_id)
        if room not in rooms:
            raise NotInRoomError(f"join room {room!r} before sending to it")
        await self._deliver(room, rooms[room], check("text", text, MAX_TEXT))

    async def announce(self, room: str, text: str) -> int:
        """Deliver ``text`` from ``system`` to ``room``; return how many clients it reached.

        Raises:
            InvalidInputError: a bad room or text.
        """
        room = check("room", room, MAX_ROOM)
        await self._deliver(room, SYSTEM, check("text", text, MAX_TEXT))
        return await self.gateway.group_count(group(room))

    async def disconnected(self, rooms: Mapping[str, str]) -> None:
        """A connection closed: tell each of its rooms (the gateway already removed it)."""
        for room, name in rooms.items():
            left = push("chat.left", {"room": room, "name": name})
            await self.gateway.send_to_group(group(room), left)

    async def members(self, room: str) -> list[str]:
        """The names of the clients in ``room``, sorted."""
        names = []
        for client_id in await self.gateway.group_client_ids(group(room)):
            session = await self.gateway.get_session(client_id) or {}
            name = session.get("rooms", {}).get(room)
            if name is not None:
                names.append(name)
        return sorted(names, key=str.casefold)

    async def rooms_of(self, client_id: str) -> dict[str, str]:
        """The rooms the client joined, with its name in each (a copy)."""
        session = await self.gateway.get_session(client_id) or {}
        return dict(session.get("rooms", {}))

    async def _deliver(self, room: str, sender: str, text: str) -> None:
        message = {"room": room, "from": sender, "text": text, "ts": time.time()}
        await self.gateway.send_to_group(group(room), push("chat.message", message))
