"""WebSocket modules end to end on both engines: routing, parsers, request ids, errors,
handshake, lifecycle order, and HTTP on the same port."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from framework import Application, bean
from framework.http import HTTPException, HttpExtension, controller, exception_handler, get
from framework.testing.servers import serve_asgi
from framework.websocket import (
    Connection,
    Message,
    Session,
    WebSocketExtension,
    message_mapping,
    on_close,
    on_handshake,
    on_message,
    on_open,
    ws_asgi_app,
    ws_controller,
    ws_module,
)

pytestmark = pytest.mark.anyio

ENGINES = ["hypercorn", "uvicorn"]


class TakenError(Exception):
    pass


@dataclass
class Point:
    x: int
    y: int


@bean
class Log:
    def __init__(self) -> None:
        self.events: list[str] = []


@bean(scope="request")
class PerMessage:
    instances = 0

    def __init__(self) -> None:
        PerMessage.instances += 1
        self.number = PerMessage.instances


@ws_controller("chat")
class ChatController:
    @message_mapping("echo")
    def echo(self, data: Any) -> Any:
        return data

    @message_mapping()
    def add(self, point: Point) -> int:
        return point.x + point.y

    @message_mapping("pair")
    def pair(self, a: int, b: str = "-") -> str:
        return f"{a}{b}"

    @message_mapping("whoami")
    def whoami(self, conn: Connection, session: Session, msg: Message, room: str) -> dict[str, Any]:
        return {"id": conn.id, "user": session.get("user"), "cmd": msg.cmd, "room": room}

    @message_mapping("scoped")
    def scoped(self, first: PerMessage, again: PerMessage) -> bool:
        return first is again

    @message_mapping("boom")
    async def boom(self) -> None:
        raise RuntimeError("handler bug")

    @message_mapping("teapot")
    def teapot(self) -> None:
        raise HTTPException(418, "short and stout")

    @message_mapping("taken")
    def taken(self) -> None:
        raise TakenError("name taken")

    @message_mapping("quiet")
    def quiet(self) -> None:
        return None

    @message_mapping("version", root=True)
    def version(self) -> str:
        return "1.0"


@ws_controller("")
class PlainController:
    @message_mapping("hello")
    def hello(self, data: str) -> str:
        return f"hello {data}"


@bean
class Errors:
    @exception_handler(TakenError)
    def taken(self, exc: TakenError, conn: Any) -> dict[str, Any]:
        return {"code": 409, "message": str(exc)}


@ws_module("/chat/{room}", controllers=[ChatController, PlainController])
class ChatModule:
    def __init__(self, log: Log) -> None:
        self.log = log

    @on_handshake
    def handshake(self, conn: Connection, room: str) -> dict[str, str] | bool:
        token = conn.query.get("token") or conn.cookies.get("token")
        if room == "secret" and token != "s3cret":
            raise HTTPException(401, "login first")
        if room == "closed":
            return False
        return {"user": conn.headers.get("x-user", "guest")}

    @on_open
    async def opened(self, conn: Connection, room: str) -> None:
        self.log.events.append(f"open {room}")
        await conn.emit("welcome", room)

    @on_close
    def closed(self, conn: Connection, code: int, reason: str) -> None:
        self.log.events.append(f"close {code} {reason}")


@ws_controller("t")
class TokenController:
    @message_mapping("add")
    def add(self, data: int) -> int:
        return data + 1

    @message_mapping("upper")
    def upper(self, data: str) -> str:
        return data.upper()


@ws_module("/token", controllers=[TokenController], parser="token")
class TokenModule:
    pass


@ws_controller("")
class RawController:
    @message_mapping("echo")
    def echo(self, data: str | bytes) -> str | bytes:
        return data


@ws_module("/raw", controllers=[RawController], parser="raw", default_command="echo")
class RawModule:
    pass


@ws_controller("")
class RawTextController:
    @message_mapping("upper")
    def upper(self, data: str) -> str:  # a text frame reaches it as it is (Handler.takes_text)
        if data == "boom":
            raise RuntimeError("boom")
        return data.upper()


@ws_module("/rawtext", controllers=[RawTextController], parser="raw", default_command="upper")
class RawTextModule:
    pass


@ws_module("/shout")
class ShoutModule:
    @on_message
    def received(self, conn: Connection, frame: str) -> str:
        return frame.upper()


@controller("/api")
class ApiController:
    @get("/ping")
    async def ping(self) -> dict[str, str]:
        return {"pong": "yes"}


CLASSES = (
    Log, PerMessage, ChatController, PlainController, Errors, ChatModule, TokenController,
    TokenModule, RawController, RawModule, RawTextController, RawTextModule, ShoutModule,
    ApiController,
)  # fmt: skip


@pytest.fixture(params=ENGINES)
async def server(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Application]]:
    app = Application.from_classes(*CLASSES, extensions=[HttpExtension(), WebSocketExtension()])
    async with serve_asgi(ws_asgi_app(app), engine=request.param) as url:
        yield url.replace("http://", "ws://"), app


async def ask(ws: Any, cmd: str, data: Any = None, id: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"cmd": cmd, "data": data}
    if id is not None:
        message["ext"] = {"id": id}
    await ws.send(json.dumps(message))
    reply: dict[str, Any] = json.loads(await ws.recv())
    return reply


async def test_routing_prefixes_and_request_ids(server: tuple[str, Application]) -> None:
    url, _ = server
    async with connect(f"{url}/chat/lobby", additional_headers={"X-User": "ada"}) as ws:
        assert json.loads(await ws.recv()) == {"cmd": "welcome", "data": "lobby"}
        assert await ask(ws, "chat.echo", {"a": [1]}, id=7) == {
            "cmd": "chat.echo",
            "data": {"a": [1]},
            "ext": {"id": 7},
        }
        assert await ask(ws, "chat.echo", "no id") == {"cmd": "chat.echo", "data": "no id"}
        assert (await ask(ws, "chat.add", {"x": 2, "y": 3}, id="a"))["data"] == 5
        assert (await ask(ws, "chat.pair", {"a": 1}, id=1))["data"] == "1-"
        assert (await ask(ws, "version", id=2))["data"] == "1.0"
        assert (await ask(ws, "hello", "bob", id=3))["data"] == "hello bob"
        who = (await ask(ws, "chat.whoami", id=4))["data"]
        assert who["user"] == "ada" and who["room"] == "lobby" and who["cmd"] == "chat.whoami"
        assert (await ask(ws, "chat.scoped", id=5))["data"] is True
        # a handler returning None still acknowledges a request that has an id
        assert await ask(ws, "chat.quiet", id=6) == {
            "cmd": "chat.quiet",
            "data": None,
            "ext": {"id": 6},
        }
        assert await ask(ws, "ping") == {"cmd": "pong", "data": None}


async def test_error_replies_keep_the_connection_open(server: tuple[str, Application]) -> None:
    url, _ = server
    async with connect(f"{url}/chat/lobby") as ws:
        await ws.recv()
        await ws.send("{not json")
        reply = json.loads(await ws.recv())
        assert reply["cmd"] == "" and reply["error"]["code"] == 400
        await ws.send(json.dumps({"cmd": 5}))
        assert json.loads(await ws.recv())["error"]["code"] == 400
        assert await ask(ws, "chat.nope", id=1) == {
            "cmd": "chat.nope",
            "error": {"code": 404, "message": "unknown command 'chat.nope'"},
            "ext": {"id": 1},
        }
        bad = await ask(ws, "chat.add", {"x": "a"}, id=2)
        assert bad["error"]["code"] == 422 and bad["ext"] == {"id": 2}
        assert {tuple(e["loc"]) for e in bad["error"]["errors"]} == {("data", "x"), ("data", "y")}
        assert (await ask(ws, "chat.add", None, id=3))["error"]["code"] == 422
        assert (await ask(ws, "chat.boom", id=4))["error"] == {
            "code": 500,
            "message": "Internal Server Error",
        }
        assert (await ask(ws, "chat.teapot", id=5))["error"] == {
            "code": 418,
            "message": "short and stout",
        }
        assert (await ask(ws, "chat.taken", id=6))["error"] == {
            "code": 409,
            "message": "name taken",
        }
        assert (await ask(ws, "chat.echo", "still open", id=7))["data"] == "still open"


async def test_token_raw_and_on_message_parsers(server: tuple[str, Application]) -> None:
    url, _ = server
    async with connect(f"{url}/token") as ws:
        await ws.send("t.add:41")
        assert await ws.recv() == "t.add:42"
        await ws.send("t.upper:hi there")
        assert await ws.recv() == "t.upper:HI THERE"
        await ws.send("t.add:x")
        error = await ws.recv()
        assert isinstance(error, str) and error.startswith("error:")
        assert json.loads(error[6:])["error"]["code"] == 422
        await ws.send("nothing")
        assert json.loads((await ws.recv())[6:])["error"]["code"] == 404
    async with connect(f"{url}/raw") as ws:
        await ws.send("anything: at all")
        assert await ws.recv() == "anything: at all"
        await ws.send(b"\x00\xff")
        assert await ws.recv() == b"\x00\xff"
    async with connect(f"{url}/rawtext") as ws:
        await ws.send("text as it is")
        assert await ws.recv() == "TEXT AS IT IS"
        await ws.send(b"binary")  # through binding: bytes are not a str here
        assert json.loads(await ws.recv())["error"]["code"] == 422
        await ws.send("boom")
        failed = json.loads(await ws.recv())
        assert failed["error"] == {"code": 500, "message": "Internal Server Error"}
        await ws.send("still open")
        assert await ws.recv() == "STILL OPEN"
    async with connect(f"{url}/shout") as ws:
        await ws.send("quiet please")
        assert await ws.recv() == "QUIET PLEASE"


async def test_handshake_rejects_and_accepts(server: tuple[str, Application]) -> None:
    url, _ = server
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{url}/chat/secret"):
            pass
    assert refused.value.response.status_code == 401
    assert refused.value.response.body == b"login first"
    with pytest.raises(InvalidStatus) as forbidden:
        async with connect(f"{url}/chat/closed"):
            pass
    assert forbidden.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as missing:
        async with connect(f"{url}/nowhere"):
            pass
    assert missing.value.response.status_code == 404
    async with connect(f"{url}/chat/secret?token=s3cret") as ws:
        assert json.loads(await ws.recv())["data"] == "secret"
    headers = {"Cookie": "token=s3cret"}
    async with connect(f"{url}/chat/secret", additional_headers=headers) as ws:
        assert json.loads(await ws.recv())["data"] == "secret"


async def test_open_close_order_and_close_code(
    server: tuple[str, Application], request: pytest.FixtureRequest
) -> None:
    url, app = server
    engine = request.node.callspec.params["server"]
    log = app.container.get(Log)
    async with connect(f"{url}/chat/one") as ws:
        await ws.recv()
        await ws.close(4001, "bye now")
    with anyio.fail_after(5):
        while len(log.events) < 2:  # noqa: ASYNC110 (on_close runs on the server side)
            await anyio.sleep(0.01)
    async with connect(f"{url}/chat/two") as ws:
        await ws.recv()
        gateway = app.extension(WebSocketExtension).gateway
        (two,) = [c.id for c in gateway.registry.clients.values() if c.path_params["room"] == "two"]
        assert await gateway.close_client(two, 4002, "kicked")
        await ws.wait_closed()
        assert ws.close_code == 4002 and ws.close_reason == "kicked"
    for _ in range(100):
        if len(log.events) == 4:
            break
        await anyio.sleep(0.01)
    # hypercorn does not pass the client's close code to the application: it reports 1006
    client_close = "close 1006 " if engine == "hypercorn" else "close 4001 bye now"
    assert log.events == ["open one", client_close, "open two", "close 4002 kicked"]


async def test_http_routes_and_client_js_on_the_same_port(server: tuple[str, Application]) -> None:
    url, _ = server
    base = url.replace("ws://", "http://")
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/api/ping")).json() == {"pong": "yes"}
        script = await client.get("/_swoop/client.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "class SwoopClient" in script.text
        again = await client.get(
            "/_swoop/client.js", headers={"If-None-Match": script.headers["etag"]}
        )
        assert again.status_code == 304
