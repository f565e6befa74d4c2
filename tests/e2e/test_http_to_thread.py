"""``to_thread=True``: a plain ``def`` handler that blocks runs in a worker thread, so the
event loop keeps serving other requests; on both engines, with real clients."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from framework import Application, bean
from framework.http import asgi_app, controller, get
from framework.http.routing import RouteError
from framework.testing.servers import serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("swoop_leak_check")]


@bean
class Gate:
    """Holds the blocking handler until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()
        self.container: Any = None


@bean(scope="request")
class Visit:
    """One per request: the thread must see the request's own."""


@controller("/")
class Work:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    @get("/block/{n:int}", to_thread=True)
    def block(self, n: int, scale: int = 2) -> dict[str, int]:
        self.gate.entered.set()
        if not self.gate.open.wait(10):  # a blocking wait: on the loop, it would stall /ping
            raise TimeoutError("the test never opened the gate")
        return {"n": n * scale, "thread": threading.get_ident()}

    @get("/plain", to_thread=True)
    def plain(self, visit: Visit) -> str:
        # resolved again inside the worker thread: the same request scope is open there
        same = self.gate.container.get(Visit) is visit
        return f"plain, same visit: {same}"

    @get("/fails", to_thread=True)
    def fails(self) -> str:
        raise LookupError("nothing here")

    @get("/ping")
    async def ping(self) -> dict[str, int]:
        return {"thread": threading.get_ident()}


@pytest.fixture(params=["hypercorn", "uvicorn"])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Gate]]:
    gate = Gate()
    app = Application.from_classes(Gate, Visit, Work, overrides={Gate: gate})
    gate.container = app.container
    async with serve_asgi(asgi_app(app), engine=request.param) as url:
        yield url, gate


async def test_a_blocked_thread_handler_leaves_the_loop_serving(
    served: tuple[str, Gate],
) -> None:
    url, gate = served
    blocked: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=url, timeout=15.0) as client:

        async def call_block() -> None:
            response = await client.get("/block/21", params={"scale": 3})
            assert response.status_code == 200, response.text
            blocked.update(response.json())

        async with anyio.create_task_group() as tg:
            tg.start_soon(call_block)
            await anyio.to_thread.run_sync(gate.entered.wait, 10)
            assert gate.entered.is_set()
            ping = await client.get("/ping")  # answered while /block still waits
            assert ping.status_code == 200
            assert not blocked
            gate.open.set()
        assert blocked["n"] == 63
        assert blocked["thread"] != ping.json()["thread"]
        assert (await client.get("/plain")).text == "plain, same visit: True"
        failed = await client.get("/fails")
        assert failed.status_code == 500 and failed.json()["code"] == 500
        assert (await client.get("/block/x")).status_code == 404


def test_to_thread_on_an_async_handler_is_a_boot_error() -> None:
    @controller("/")
    class Wrong:
        @get("/", to_thread=True)
        async def index(self) -> str:
            return "never"

    with pytest.raises(RouteError) as caught:
        Application.from_classes(Wrong)
    message = str(caught.value)
    assert "to_thread=True on async handler" in message and "Wrong.index" in message
    assert "fix: drop to_thread=True" in message
