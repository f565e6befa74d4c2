"""client.js in headless Chromium against a test module: connect, send with a promise reply,
error rejection, pushes to ``on``, and reconnection after the server restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from framework import Application
from framework.http import HTMLResponse, HTTPException, HttpExtension, controller, get
from framework.server import EngineOptions
from framework.testing.servers import serve_asgi
from framework.testing.system import require_binary, require_module
from framework.websocket import (
    Connection,
    WebSocketExtension,
    message_mapping,
    ws_asgi_app,
    ws_controller,
    ws_module,
)

playwright_api = require_module("playwright.async_api", pip="playwright")
CHROMIUM = require_binary("chromium")
pytestmark = [pytest.mark.anyio, pytest.mark.slow]

PAGE = """<!doctype html><html><body>
<script src="/_swoop/client.js"></script>
<script>
  window.events = [];
  window.client = new SwoopClient("/app", {timeout: 2000, minDelay: 100, maxDelay: 400});
  for (const name of ["open", "close", "reconnecting"]) {
    client.on(name, (detail) => events.push(name));
  }
  client.on("news", (data) => events.push("news:" + data.headline));
</script></body></html>"""


@ws_controller("")
class AppController:
    @message_mapping("echo")
    def echo(self, data: Any) -> Any:
        return data

    @message_mapping("fail")
    def fail(self) -> None:
        raise HTTPException(409, "already taken")

    @message_mapping("push")
    async def push(self, conn: Connection, data: str) -> str:
        await conn.emit("news", {"headline": data})
        return "pushed"

    @message_mapping("slow")
    def slow(self) -> None:
        return None


@ws_module("/app", controllers=[AppController])
class AppModule:
    pass


@controller("/")
class PageController:
    @get("/")
    async def page(self) -> HTMLResponse:
        return HTMLResponse(PAGE)


def build() -> Any:
    app = Application.from_classes(
        AppModule,
        AppController,
        PageController,
        extensions=[HttpExtension(), WebSocketExtension()],
        config={"ws": {"ping_interval": 0.3}},
    )
    return app, ws_asgi_app(app)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()


async def test_client_js_in_chromium(browser: Any) -> None:
    app, asgi = build()
    options = EngineOptions(graceful_timeout=1.0)
    async with serve_asgi(asgi, engine="uvicorn", options=options) as url:
        port = int(url.rsplit(":", 1)[1])
        page = await browser.new_page()
        await page.goto(url + "/")
        await page.wait_for_function("window.client.state === 'open'")
        assert await page.evaluate("client.send('echo', {n: 1})") == {"n": 1}
        failure = await page.evaluate(
            "client.send('fail').then(() => null, (e) => [e.name, e.code, e.message])"
        )
        assert failure == ["SwoopError", 409, "already taken"]
        unknown = await page.evaluate("client.send('nope').catch((e) => e.code)")
        assert unknown == 404
        assert await page.evaluate("client.send('push', 'rain')") == "pushed"
        await page.wait_for_function("events.includes('news:rain')")
        # heartbeats: the server pings every 0.3 s; client.js answers, so it stays open
        await page.wait_for_timeout(1200)
        assert await page.evaluate("client.state") == "open"
        await app.extension(WebSocketExtension).close_all(1012, "reloading")
    # the server is gone: client.js keeps trying with backoff, then a new server is up
    await page.wait_for_function("events.includes('reconnecting')")
    app2, asgi2 = build()
    async with serve_asgi(asgi2, engine="hypercorn", port=port, options=options):
        await page.wait_for_function("window.client.state === 'open'", timeout=10000)
        assert await page.evaluate("client.send('echo', 'back')") == "back"
        events = await page.evaluate("events")
        assert events[0] == "open" and "close" in events and events[-1] == "open"
        await page.evaluate("client.close()")
        await page.close()
        await app2.extension(WebSocketExtension).close_all(1001, "done")
    await app.shutdown()
