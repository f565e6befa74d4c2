"""Every Gateway API call against real connections on both engines, from WebSocket handlers
and from an HTTP controller."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect

from framework import Application
from framework.http import HttpExtension, controller, get, post
from framework.testing.servers import serve_asgi
from framework.testing.ws import call, nothing_arrives
from framework.websocket import (
    Connection,
    Gateway,
    WebSocketExtension,
    message_mapping,
    on_open,
    ws_asgi_app,
    ws_controller,
    ws_module,
)

pytestmark = pytest.mark.anyio

ENGINES = ["hypercorn", "uvicorn"]


@ws_controller("gw")
class GatewayController:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @message_mapping("login")
    async def login(self, conn: Connection, data: str) -> str:
        await self.gateway.bind_uid(conn.id, data)
        return conn.id

    @message_mapping("join")
    async def join(self, conn: Connection, data: str) -> bool:
        return await self.gateway.join_group(conn.id, data)

    @message_mapping("say")
    async def say(self, conn: Connection, group: str, text: str) -> None:
        await self.gateway.send_to_group(group, {"cmd": "said", "data": text}, exclude=conn.id)


@ws_module("/gw", controllers=[GatewayController])
class GatewayModule:
    @on_open
    async def opened(self, conn: Connection) -> None:
        conn.session["opened"] = True


@controller("/admin")
class AdminController:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @post("/broadcast")
    async def broadcast(self, body: dict[str, Any]) -> dict[str, int]:
        await self.gateway.send_to_all(body)
        return {"online": await self.gateway.all_count()}

    @get("/online/{uid}")
    async def online(self, uid: str) -> dict[str, Any]:
        return {
            "online": await self.gateway.is_uid_online(uid),
            "clients": await self.gateway.client_ids_by_uid(uid),
        }


@pytest.fixture(params=ENGINES)
async def server(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Gateway]]:
    app = Application.from_classes(
        GatewayModule,
        GatewayController,
        AdminController,
        extensions=[HttpExtension(), WebSocketExtension()],
        config={"ws": {"node": "test1", "worker": 3}},
    )
    async with serve_asgi(ws_asgi_app(app), engine=request.param) as url:
        yield url, app.container.get(Gateway)


async def recv_json(ws: Any) -> Any:
    with anyio.fail_after(5):
        return json.loads(await ws.recv())


async def test_every_gateway_call(server: tuple[str, Gateway]) -> None:
    url, gateway = server
    ws_url = url.replace("http://", "ws://") + "/gw"
    async with connect(ws_url) as a, connect(ws_url) as b, connect(ws_url) as c:
        id_a = await call(a, "gw.login", "ada")
        id_b = await call(b, "gw.login", "bob")
        id_c = await call(c, "gw.login", "ada")  # a second tab of ada
        assert id_a.startswith("test1-3-") and len({id_a, id_b, id_c}) == 3
        assert await gateway.all_count() == 3
        assert await gateway.is_online(id_a) and not await gateway.is_online(id_a + "x")
        assert await gateway.is_uid_online("ada") and not await gateway.is_uid_online("eve")
        assert sorted(await gateway.client_ids_by_uid("ada")) == sorted([id_a, id_c])
        assert await gateway.uid_by_client(id_b) == "bob"

        await gateway.send_to_client(id_b, "just bob")
        assert await b.recv() == "just bob"
        await gateway.send_to_uid("ada", {"cmd": "note", "data": 1})
        assert await recv_json(a) == {"cmd": "note", "data": 1}
        assert await recv_json(c) == {"cmd": "note", "data": 1}
        await gateway.send_to_uid(["ada", "bob"], b"\x01")
        assert [await a.recv(), await b.recv(), await c.recv()] == [b"\x01"] * 3

        assert await call(a, "gw.join", "room") is True
        assert await call(b, "gw.join", "room") is True
        assert await gateway.group_count("room") == 2
        assert sorted(await gateway.group_client_ids("room")) == sorted([id_a, id_b])
        await call(a, "gw.say", {"group": "room", "text": "hi"})
        assert await recv_json(b) == {"cmd": "said", "data": "hi"}
        assert await nothing_arrives(a)
        await gateway.send_to_group(["room", "empty"], "to room", exclude=[id_b])
        assert await a.recv() == "to room"
        assert await nothing_arrives(b) and await nothing_arrives(c)
        assert await gateway.leave_group(id_a, "room") is True
        assert await gateway.leave_group(id_a, "room") is False
        assert await gateway.group_client_ids("room") == [id_b]
        await gateway.ungroup("room")
        assert await gateway.group_count("room") == 0

        await gateway.send_to_all("everyone", exclude=id_c)
        assert [await a.recv(), await b.recv()] == ["everyone", "everyone"]
        assert await nothing_arrives(c)

        assert await gateway.get_session(id_a) == {"opened": True}
        assert await gateway.update_session(id_a, {"score": 3})
        assert await gateway.get_session(id_a) == {"opened": True, "score": 3}
        assert await gateway.set_session(id_a, {"fresh": 1})
        assert await gateway.get_session(id_a) == {"fresh": 1}
        assert await gateway.get_session("nobody-0-0-1") is None

        assert await gateway.unbind_uid(id_c, "ada") is True
        assert await gateway.client_ids_by_uid("ada") == [id_a]
        assert await gateway.uid_by_client(id_c) is None

        assert await gateway.close_client(id_c, 4000, "bye") is True
        await c.wait_closed()
        assert (c.close_code, c.close_reason) == (4000, "bye")
        with anyio.fail_after(5):
            while await gateway.is_online(id_c):  # noqa: ASYNC110 (polling the API itself)
                await anyio.sleep(0.01)
        assert await gateway.close_client(id_c) is False
    with anyio.fail_after(5):
        while await gateway.all_count():  # noqa: ASYNC110
            await anyio.sleep(0.01)
    assert not await gateway.is_uid_online("bob")


async def test_gateway_from_an_http_controller(server: tuple[str, Gateway]) -> None:
    url, _ = server
    ws_url = url.replace("http://", "ws://") + "/gw"
    async with connect(ws_url) as a, connect(ws_url) as b, httpx.AsyncClient() as http:
        await call(a, "gw.login", "ada")
        response = await http.post(f"{url}/admin/broadcast", json={"cmd": "news", "data": "x"})
        assert response.json() == {"online": 2}
        assert await recv_json(a) == await recv_json(b) == {"cmd": "news", "data": "x"}
        online = (await http.get(f"{url}/admin/online/ada")).json()
        assert online["online"] is True and len(online["clients"]) == 1
