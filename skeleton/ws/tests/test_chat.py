"""The /chat module over a real socket: join, send, leave, close, and the error replies."""

import time

import pytest
from conftest import Connect

pytestmark = pytest.mark.anyio


async def test_join_replies_the_members_and_tells_the_others(ws: Connect) -> None:
    ada, bob = await ws(), await ws()
    reply = await ada.call("chat.join", {"room": "lobby", "name": "ada"})
    assert reply == {
        "cmd": "chat.join",
        "data": {"room": "lobby", "members": ["ada"]},
        "ext": {"id": 1},
    }
    reply = await bob.call("chat.join", {"room": "lobby", "name": "bob"})
    assert reply["data"] == {"room": "lobby", "members": ["ada", "bob"]}
    assert await ada.pushed("chat.joined") == {"room": "lobby", "name": "bob"}
    assert await bob.nothing_arrives()  # no echo of one's own join


async def test_joining_again_under_another_name_renames(ws: Connect) -> None:
    ada, bob = await ws(), await ws()
    await ada.call("chat.join", {"room": "lobby", "name": "ada"})
    await bob.call("chat.join", {"room": "lobby", "name": "bob"})
    reply = await bob.call("chat.join", {"room": "lobby", "name": " robert "})
    assert reply["data"] == {"room": "lobby", "members": ["ada", "robert"]}
    assert await ada.pushed("chat.joined") == {"room": "lobby", "name": "bob"}
    assert await ada.pushed("chat.left") == {"room": "lobby", "name": "bob"}
    assert await ada.pushed("chat.joined") == {"room": "lobby", "name": "robert"}


async def test_send_reaches_every_member_and_the_sender(ws: Connect) -> None:
    ada, bob, eve = await ws(), await ws(), await ws()
    await ada.call("chat.join", {"room": "lobby", "name": "ada"})
    await bob.call("chat.join", {"room": "lobby", "name": "bob"})
    await eve.call("chat.join", {"room": "elsewhere", "name": "eve"})
    reply = await ada.call("chat.send", {"room": "lobby", "text": "hello"})
    assert reply == {"cmd": "chat.send", "data": None, "ext": {"id": 2}}  # an acknowledgement
    for member in (ada, bob):
        message = await member.pushed("chat.message")
        assert message.keys() == {"room", "from", "text", "ts"}
        assert (message["room"], message["from"], message["text"]) == ("lobby", "ada", "hello")
        assert abs(message["ts"] - time.time()) < 5
    assert await eve.nothing_arrives()


async def test_leave(ws: Connect) -> None:
    ada, bob = await ws(), await ws()
    await ada.call("chat.join", {"room": "lobby", "name": "ada"})
    await bob.call("chat.join", {"room": "lobby", "name": "bob"})
    assert (await bob.call("chat.leave", {"room": "lobby"}))["data"] is None
    assert await ada.pushed("chat.left") == {"room": "lobby", "name": "bob"}
    await ada.call("chat.send", {"room": "lobby", "text": "still here?"})
    assert (await ada.pushed("chat.message"))["text"] == "still here?"
    assert await bob.nothing_arrives()
    again = await bob.call("chat.leave", {"room": "lobby"})
    assert again["error"] == {"code": 403, "message": "you are not in room 'lobby'"}


async def test_closing_the_socket_leaves_every_room(ws: Connect) -> None:
    ada, bob = await ws(), await ws()
    for room in ("lobby", "dev"):
        await ada.call("chat.join", {"room": room, "name": "ada"})
        await bob.call("chat.join", {"room": room, "name": "bob"})
    await bob.ws.close()
    left = [await ada.pushed("chat.left"), await ada.pushed("chat.left")]
    assert sorted(left, key=lambda d: d["room"]) == [
        {"room": "dev", "name": "bob"},
        {"room": "lobby", "name": "bob"},
    ]
    reply = await ada.call("chat.join", {"room": "lobby", "name": "ada"})
    assert reply["data"]["members"] == ["ada"]


async def test_sending_to_a_room_not_joined_is_an_error(ws: Connect) -> None:
    ada = await ws()
    await ada.call("chat.join", {"room": "lobby", "name": "ada"})
    reply = await ada.call("chat.send", {"room": "dev", "text": "hi"})
    assert reply == {
        "cmd": "chat.send",
        "error": {"code": 403, "message": "join room 'dev' before sending to it"},
        "ext": {"id": 2},
    }
    assert await ada.nothing_arrives()  # and the connection stays open
    assert "data" in await ada.call("chat.send", {"room": "lobby", "text": "ok"})


@pytest.mark.parametrize(
    ("cmd", "data", "code"),
    [
        ("chat.join", {"room": "lobby", "name": "  "}, 422),
        ("chat.join", {"room": "lobby", "name": "System"}, 422),
        ("chat.join", {"room": "x" * 65, "name": "ada"}, 422),
        ("chat.join", {"room": "lobby"}, 422),
        ("chat.send", {"room": "lobby"}, 422),
        ("chat.shout", {"room": "lobby"}, 404),
    ],
)
async def test_bad_requests_are_error_replies(ws: Connect, cmd: str, data: dict, code: int) -> None:
    ada = await ws()
    reply = await ada.call(cmd, data)
    assert reply["error"]["code"] == code
