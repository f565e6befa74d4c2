"""Protection end to end on both engines: heartbeat, message size, connection limit, origin
check, rate limit, and the close codes of a stopping or reloading worker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from framework import Application
from framework.server import EngineOptions, bind_tcp, endpoint, engine_named
from framework.testing.servers import serve_asgi
from framework.websocket import (
    WebSocketExtension,
    message_mapping,
    ws_asgi_app,
    ws_controller,
    ws_module,
)

pytestmark = pytest.mark.anyio

ENGINES = ["hypercorn", "uvicorn"]


@ws_controller("")
class EchoController:
    @message_mapping("echo")
    def echo(self, data: Any) -> Any:
        return data


@ws_module("/json", controllers=[EchoController])
class JsonModule:
    pass


@ws_module("/raw", controllers=[EchoController], parser="raw", default_command="echo")
class RawModule:
    pass


Serve = Callable[..., Any]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def build(**ws: Any) -> Application:
    config = {"ws": {"ping_interval": 0, **ws}}
    return Application.from_classes(
        JsonModule, RawModule, EchoController, extensions=[WebSocketExtension()], config=config
    )


@pytest.fixture
async def ws_url(engine: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    app = build(**getattr(request, "param", {}))
    async with serve_asgi(ws_asgi_app(app), engine=engine) as url:
        yield url.replace("http://", "ws://")


async def closed_with(ws: Any) -> tuple[int | None, str | None]:
    with anyio.fail_after(5):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed:
            pass
    return ws.close_code, ws.close_reason


@pytest.mark.parametrize("ws_url", [{"ping_interval": 0.1, "ping_max_missed": 2}], indirect=True)
async def test_heartbeat_pings_then_closes_a_silent_client(ws_url: str) -> None:
    async with connect(f"{ws_url}/json") as silent, connect(f"{ws_url}/json") as answering:
        seen = 0

        async def answer() -> None:
            nonlocal seen
            async for message in answering:
                if json.loads(message) == {"cmd": "ping"}:
                    seen += 1
                    await answering.send('{"cmd":"pong"}')

        async with anyio.create_task_group() as tg:
            tg.start_soon(answer)
            pings = []
            with anyio.fail_after(5):
                try:
                    async for message in silent:
                        pings.append(json.loads(message))
                except ConnectionClosed:
                    pass
            assert pings == [{"cmd": "ping"}, {"cmd": "ping"}]
            assert (silent.close_code, silent.close_reason) == (1011, "heartbeat timeout")
            assert seen >= 2  # the answering client was pinged too, and is still open
            await answering.send(json.dumps({"cmd": "echo", "data": 1, "ext": {"id": 1}}))
            tg.cancel_scope.cancel()
        assert json.loads(await answering.recv())["data"] == 1


@pytest.mark.parametrize("ws_url", [{"idle_timeout": 0.2}], indirect=True)
async def test_idle_timeout_closes_raw_clients(ws_url: str) -> None:
    async with connect(f"{ws_url}/raw") as ws:
        await ws.send("alive")
        assert await ws.recv() == "alive"
        assert await closed_with(ws) == (1011, "heartbeat timeout")


@pytest.mark.parametrize("ws_url", [{"max_message_size": 64}], indirect=True)
async def test_oversized_message_closes_with_1009(ws_url: str) -> None:
    async with connect(f"{ws_url}/raw") as ws:
        await ws.send("x" * 64)
        assert await ws.recv() == "x" * 64
        await ws.send("é" * 40)  # 40 characters, 80 bytes
        assert await closed_with(ws) == (1009, "message too big")


@pytest.mark.parametrize("ws_url", [{"max_connections": 2}], indirect=True)
async def test_max_connections_refuses_with_1013(ws_url: str) -> None:
    async with connect(f"{ws_url}/raw") as a, connect(f"{ws_url}/raw") as b:
        async with connect(f"{ws_url}/raw") as third:
            code, reason = await closed_with(third)
            assert code == 1013 and reason is not None and "too many" in reason
        await a.send("a")
        assert await a.recv() == "a"
        await b.send("b")
        assert await b.recv() == "b"
    async with connect(f"{ws_url}/raw") as again:  # room again once they left
        await again.send("c")
        assert await again.recv() == "c"


@pytest.mark.parametrize(
    "ws_url", [{"allowed_origins": ["https://app.example.com", "http://*.local:*"]}], indirect=True
)
async def test_origin_allow_list(ws_url: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{ws_url}/raw", origin="https://evil.example.org"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    for origin in ("https://app.example.com", "http://dev.local:8080"):
        async with connect(f"{ws_url}/raw", origin=origin) as ws:  # type: ignore[arg-type]
            await ws.send("ok")
            assert await ws.recv() == "ok"
    async with connect(f"{ws_url}/raw") as ws:  # no Origin header: not a browser
        await ws.send("ok")
        assert await ws.recv() == "ok"


@pytest.mark.parametrize("ws_url", [{"rate_limit": 1, "rate_burst": 3}], indirect=True)
async def test_rate_limit_closes_with_1008(ws_url: str) -> None:
    async with connect(f"{ws_url}/raw") as ws:
        for i in range(3):
            await ws.send(str(i))
        assert [await ws.recv() for _ in range(3)] == ["0", "1", "2"]
        await ws.send("one too many")
        assert await closed_with(ws) == (1008, "rate limit exceeded")


@pytest.mark.parametrize(("code", "reason"), [(1001, "server stopping"), (1012, "reloading")])
async def test_stop_and_reload_close_codes(engine: str, code: int, reason: str) -> None:
    """As the process manager does: close every WebSocket first, then stop the engine."""
    app = build()
    extension = app.extension(WebSocketExtension)
    sock = bind_tcp("127.0.0.1", 0)
    url = f"ws://{endpoint(sock)}"
    ready, stop = anyio.Event(), anyio.Event()

    async def trigger() -> None:
        await stop.wait()
        await extension.close_all(code, reason)

    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: engine_named(engine).serve(
                ws_asgi_app(app),
                [sock],
                shutdown_trigger=trigger,
                options=EngineOptions(graceful_timeout=2.0),
                ready=ready.set,
            )
        )
        await ready.wait()
        async with connect(f"{url}/raw") as a, connect(f"{url}/json") as b:
            await a.send("hi")
            assert await a.recv() == "hi"
            stop.set()
            assert await closed_with(a) == (code, reason)
            assert await closed_with(b) == (code, reason)
    assert not app.started


async def test_shutdown_closes_remaining_sockets_with_1001(engine: str) -> None:
    app = build()
    async with serve_asgi(ws_asgi_app(app), engine=engine) as url:
        async with connect(url.replace("http://", "ws://") + "/raw") as ws:
            await app.shutdown()
            assert await closed_with(ws) == (1001, "server stopping")
