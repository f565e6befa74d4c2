"""A gateway and business nodes in one process, over real Unix sockets and a real engine:
handshake, messages, state, HTTP, drain with adoption, a lost worker, no worker at all."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from framework import Application
from framework.http import HTTPException, HttpExtension, StreamingResponse, controller, get, post
from framework.testing.servers import serve_asgi
from framework.testing.ws import call, recv
from framework.websocket import (
    ClientIdFactory,
    Connection,
    Gateway,
    InProcessBus,
    WebSocketExtension,
    message_mapping,
    on_close,
    on_handshake,
    on_open,
    ws_asgi_app,
    ws_controller,
    ws_module,
)
from framework.websocket.registry import Registry
from framework.websocket.settings import WsSettings
from framework.websocket.split.business import BusinessNode
from framework.websocket.split.gateway import GatewayApp
from framework.websocket.split.protocol import encode

pytestmark = pytest.mark.anyio

CLOSED: list[tuple[str, int, str]] = []  # (user, code, worker) for every on_close
RELEASE: dict[str, asyncio.Event] = {}  # the event "room.slow" waits for, made per test


@ws_controller("room")
class RoomController:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @message_mapping("join")
    async def join(self, conn: Connection, data: str) -> dict[str, Any]:
        conn.session["rooms"] = [*conn.session.get("rooms", []), data]
        await self.gateway.join_group(conn.id, data)
        await self.gateway.send_to_group(data, {"cmd": "joined", "data": conn.session["user"]})
        return {"groups": sorted(conn.groups), "count": await self.gateway.group_count(data)}

    @message_mapping("login")
    async def login(self, conn: Connection, data: str) -> str | None:
        await self.gateway.bind_uid(conn.id, data)
        await self.gateway.update_session(conn.id, {"uid": data})
        return conn.uid if conn.session.get("uid") == data else None

    @message_mapping("whoami")
    async def whoami(self, conn: Connection, room: str) -> dict[str, Any]:
        return {"room": room, "session": dict(conn.session), "worker": conn.session.get("w")}

    @message_mapping("mark")
    async def mark(self, conn: Connection, data: str) -> None:
        conn.session["w"] = data  # written back to the gateway when the handler returns

    @message_mapping("push")
    async def push(self, conn: Connection) -> str:
        await conn.send("first")
        await conn.emit("second", 2)
        return "third"

    @message_mapping("slow")
    async def slow(self) -> str:
        await RELEASE["slow"].wait()
        return "finally"

    @message_mapping("bye")
    async def bye(self, conn: Connection) -> None:
        await conn.close(4000, "bye now")


@ws_module("/room/{room}", controllers=[RoomController])
class RoomModule:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @on_handshake
    def check(self, conn: Connection) -> dict[str, Any]:
        user = conn.query.get("user")
        if not user:
            raise HTTPException(401, "login first")
        return {"user": user}

    @on_open
    async def opened(self, conn: Connection, room: str) -> None:
        await conn.send(f"welcome {conn.session['user']} to {room}")

    @on_close
    def closed(self, conn: Connection, code: int) -> None:
        CLOSED.append((conn.session["user"], code, str(conn.session.get("w"))))


@controller("/api")
class ApiController:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @get("/count")
    async def count(self) -> dict[str, Any]:
        return {"count": await self.gateway.all_count()}

    @post("/rooms/{room}")
    async def announce(self, room: str, body: dict[str, Any]) -> dict[str, Any]:
        await self.gateway.send_to_group(room, {"cmd": "news", "data": body["text"]})
        return {"members": await self.gateway.group_client_ids(room)}

    @get("/session/{client}")
    async def session(self, client: str) -> dict[str, Any] | None:
        return await self.gateway.get_session(client)

    @get("/big")
    async def big(self) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(40):
                yield bytes([65 + i % 26]) * 10_000

        return StreamingResponse(chunks(), media_type="application/octet-stream")


CLASSES = (RoomModule, RoomController, ApiController)


@pytest.fixture
def socket_path() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="swoop-split-")
    try:
        yield str(Path(folder) / "gw-0.sock")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@asynccontextmanager
async def gateway(
    path: str, engine: str = "hypercorn", **settings: Any
) -> AsyncIterator[tuple[GatewayApp, str]]:
    registry = Registry()
    ids = ClientIdFactory("t", 0)
    options = WsSettings(**{"node": "t", "ping_interval": 0, **settings})
    app = GatewayApp(Gateway(ids, registry, InProcessBus(registry)), options, socket_path=path)
    await app.start()
    try:
        async with serve_asgi(app, engine=engine) as url:
            yield app, url
    finally:
        await app.aclose()


@asynccontextmanager
async def business(path: str, worker: int) -> AsyncIterator[BusinessNode]:
    config = {"ws": {"gateway_sockets": [path], "node": "t", "worker": worker}}
    extensions = [WebSocketExtension(), HttpExtension()]
    app = Application.from_classes(*CLASSES, extensions=extensions, config=config)
    await app.startup()
    try:
        node = app.extension(WebSocketExtension).business
        assert node is not None
        node.start(ws_asgi_app(app))
        await asyncio.wait_for(node.wait_linked(), 5)
        yield node
    finally:
        await app.shutdown()


async def drain(node: BusinessNode) -> None:
    async def stopped() -> None:
        return None

    await asyncio.wait_for(node.drain(5.0, stopped), 10)


async def settled(app: GatewayApp) -> None:
    """Wait until the business workers ran on_close for every closed client."""
    async with asyncio.timeout(5):
        while app.routes:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def ws_url(url: str, room: str = "lobby", user: str = "ada") -> str:
    return f"{url.replace('http', 'ws')}/room/{room}?user={user}"


@pytest.mark.parametrize("engine", ["hypercorn", "uvicorn"])
async def test_handshake_open_messages_and_state(socket_path: str, engine: str) -> None:
    CLOSED.clear()
    async with gateway(socket_path, engine) as (_, url), business(socket_path, 1):
        with pytest.raises(InvalidStatus) as refused:
            await connect(ws_url(url).replace("?user=ada", ""))
        assert refused.value.response.status_code == 401
        assert refused.value.response.body == b"login first"
        with pytest.raises(InvalidStatus) as missing:
            await connect(url.replace("http", "ws") + "/nowhere")
        assert missing.value.response.status_code == 404

        async with connect(ws_url(url)) as ada, connect(ws_url(url, user="bob")) as bob:
            assert await recv(ada) == "welcome ada to lobby"
            assert await recv(bob) == "welcome bob to lobby"
            assert await call(ada, "room.join", "g") == {"groups": ["g"], "count": 1}
            # the group send made by the handler arrives before its reply, as without split
            await ada.send(json.dumps({"cmd": "room.join", "data": "h", "ext": {"id": 1}}))
            assert json.loads(await recv(ada)) == {"cmd": "joined", "data": "ada"}
            assert json.loads(await recv(ada))["ext"] == {"id": 1}
            assert await call(ada, "room.login", "u-ada") == "u-ada"  # read your own writes
            await call(ada, "room.mark", "one")
            seen = await call(ada, "room.whoami")
            assert seen["room"] == "lobby"
            assert seen["session"] == {
                "user": "ada",
                "rooms": ["g", "h"],
                "uid": "u-ada",
                "w": "one",
            }
            await ada.send(json.dumps({"cmd": "room.push", "ext": {"id": 2}}))
            got = [await recv(ada) for _ in range(3)]
            assert got[0] == "first" and json.loads(got[1]) == {"cmd": "second", "data": 2}
            assert json.loads(got[2])["data"] == "third"

            async with httpx.AsyncClient(base_url=url) as client:
                assert (await client.get("/api/count")).json() == {"count": 2}
                answer = await client.post("/api/rooms/g", json={"text": "hello"})
                assert len(answer.json()["members"]) == 1
                assert json.loads(await recv(ada)) == {"cmd": "news", "data": "hello"}
                ada_id = await call(ada, "room.join", "x")  # any call; then ask its session
                assert ada_id["groups"] == ["g", "h", "x"]
                big = await client.get("/api/big")
                assert big.status_code == 200 and len(big.content) == 400_000
                assert big.content[10_000:10_001] == b"B"
                script = await client.get("/_swoop/client.js")
                assert script.status_code == 200 and "function" in script.text
                assert (await client.get("/missing")).status_code == 404

            await bob.send(json.dumps({"cmd": "room.bye"}))
            await bob.wait_closed()
            assert bob.close_code == 4000
        await asyncio.sleep(0.2)
        assert [(user, worker) for user, _, worker in CLOSED] == [("bob", "None"), ("ada", "one")]
        # Hypercorn reports a close started by the client as 1006 (docs/websocket.md)
        assert CLOSED[0][1] == 4000 and CLOSED[1][1] in (1000, 1006)


async def _chatter(ws: ClientConnection, stop: asyncio.Event) -> int:
    sent = 0
    while not stop.is_set():
        assert (await call(ws, "room.whoami"))["session"]["user"]
        sent += 1
    return sent


async def test_a_drained_worker_hands_its_connections_over(socket_path: str) -> None:
    CLOSED.clear()
    async with gateway(socket_path) as (app, url):
        async with business(socket_path, 1) as first:
            clients = [await connect(ws_url(url, user=f"u{i}")) for i in range(4)]
            for ws in clients:
                await recv(ws)
                await call(ws, "room.mark", "first")
            async with business(socket_path, 2) as second:
                stop = asyncio.Event()
                chatter = [asyncio.create_task(_chatter(ws, stop)) for ws in clients]
                await asyncio.sleep(0.2)
                await drain(first)
                assert not first.proxies or all(ws.state.name == "OPEN" for ws in clients)
                await asyncio.sleep(0.2)
                stop.set()
                assert all(await asyncio.gather(*chatter))
                assert second.adopted == 4 and app.counters.lost == 0
                for ws in clients:  # the state came along with the connection
                    assert (await call(ws, "room.whoami"))["worker"] == "first"
                    await ws.close()
                await asyncio.sleep(0.2)
                assert sorted((u, w) for u, _, w in CLOSED) == [
                    (f"u{i}", "first") for i in range(4)
                ]


async def test_an_event_in_flight_on_a_dead_worker_is_sent_again(socket_path: str) -> None:
    RELEASE["slow"] = release = asyncio.Event()
    async with gateway(socket_path) as (app, url), business(socket_path, 1) as first:
        async with connect(ws_url(url)) as ada:
            await recv(ada)
            await ada.send(json.dumps({"cmd": "room.slow", "ext": {"id": "s"}}))
            async with business(socket_path, 2):
                await asyncio.sleep(0.1)
                for link in first.links:  # the first worker "dies": its links break
                    assert link.link is not None
                    link.link.close()
                await asyncio.sleep(0.1)
                release.set()
                assert json.loads(await recv(ada)) == {
                    "cmd": "room.slow",
                    "data": "finally",
                    "ext": {"id": "s"},
                }
                assert app.counters.resent == 1 and ada.state.name == "OPEN"
            await ada.close()
            await settled(app)


async def test_without_business_workers_the_gateway_refuses(socket_path: str) -> None:
    async with gateway(socket_path, split_timeout=0.2) as (app, url):
        with pytest.raises(InvalidStatus) as refused:
            await connect(ws_url(url))
        assert refused.value.response.status_code == 503
        async with httpx.AsyncClient(base_url=url) as client:
            answer = await client.get("/api/count")
        assert answer.status_code == 503 and "no business worker" in answer.text
        assert app.counters.refused == 2


async def test_a_business_link_sending_garbage_is_closed(socket_path: str) -> None:
    async with gateway(socket_path) as (app, url), business(socket_path, 1) as node:
        async with connect(ws_url(url)) as ada:
            await recv(ada)
            (link,) = node.links
            assert link.link is not None
            link.link.send(encode({"t": "no-such-packet"}))
            await asyncio.sleep(0.2)
            await asyncio.wait_for(node.wait_linked(), 5)  # it reconnected by itself
            assert (await call(ada, "room.whoami"))["session"]["user"] == "ada"
        await settled(app)


async def test_the_gateway_runs_the_heartbeat_with_the_modules_ping(socket_path: str) -> None:
    async with gateway(socket_path, ping_interval=0.2, ping_max_missed=1) as (app, url):
        async with business(socket_path, 1), connect(ws_url(url)) as ada:
            assert await recv(ada) == "welcome ada to lobby"
            assert json.loads(await recv(ada)) == {"cmd": "ping"}  # the json parser's ping
            await ada.wait_closed()  # never answered: closed by the gateway
            assert (ada.close_code, ada.close_reason) == (1011, "heartbeat timeout")
            await settled(app)
