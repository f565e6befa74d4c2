"""The rooms over HTTP: a POST pushes into a room through the Gateway API."""

import httpx
import pytest
from conftest import Connect

pytestmark = pytest.mark.anyio


async def test_post_pushes_a_system_message_to_the_room(
    ws: Connect, http: httpx.AsyncClient
) -> None:
    ada, eve = await ws(), await ws()
    await ada.call("chat.join", {"room": "lobby", "name": "ada"})
    await eve.call("chat.join", {"room": "dev", "name": "eve"})
    posted = await http.post("/api/rooms/lobby/messages", json={"text": "deploy at 5"})
    assert posted.status_code == 202
    assert posted.json() == {"room": "lobby", "delivered": 1}
    message = await ada.pushed("chat.message")
    assert (message["room"], message["from"], message["text"]) == ("lobby", "system", "deploy at 5")
    assert await eve.nothing_arrives()


async def test_the_members_of_a_room(ws: Connect, http: httpx.AsyncClient) -> None:
    for name in ("bob", "ada"):
        await (await ws()).call("chat.join", {"room": "lobby", "name": name})
    assert (await http.get("/api/rooms/lobby")).json() == {
        "room": "lobby",
        "members": ["ada", "bob"],
    }
    assert (await http.get("/api/rooms/empty")).json() == {"room": "empty", "members": []}


async def test_a_blank_or_missing_text_is_422(http: httpx.AsyncClient) -> None:
    blank = await http.post("/api/rooms/lobby/messages", json={"text": " "})
    assert (blank.status_code, blank.json()) == (
        422,
        {"code": 422, "message": "text must not be empty"},
    )
    assert (await http.post("/api/rooms/lobby/messages", json={})).status_code == 422
