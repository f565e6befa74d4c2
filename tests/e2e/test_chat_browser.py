"""The ws skeleton's chat page in headless Chromium, on a server started by ``appctl``.

Two pages join a room; one sends, the other shows the message. Then ``ws:reload``: the pages
reconnect by themselves (close code 1012), join their rooms again, and keep chatting.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.testing.processes import appctl, free_port
from framework.testing.system import require_binary, require_module

playwright_api = require_module("playwright.async_api", pip="playwright")
CHROMIUM = require_binary("chromium")

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX process manager"),
]


@pytest.fixture
def chat_app(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The generated ws app, started as a daemon with one worker: (app dir, base URL)."""
    created = appctl(tmp_path, "create:app", "chat", "--type", "ws")
    assert created.returncode == 0, created.stderr
    app_dir, port = tmp_path / "chat", free_port()
    pid_file = app_dir / "runtime" / "ws.pid"
    try:
        flags = ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        started = appctl(app_dir, "ws:start", "-d", *flags)
        assert started.returncode == 0, started.stderr
        yield app_dir, f"http://127.0.0.1:{port}"
    finally:
        pids: list[int] = []
        with contextlib.suppress(Exception):
            pids = [int(pid_file.read_text())]
            status = json.loads(appctl(app_dir, "ws:status", "--json").stdout)
            pids += [row["pid"] for row in status["rows"]]
        appctl(app_dir, "ws:stop", "--timeout", "5")
        for pid in pids:  # anything the stop left behind
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        assert not pid_file.exists()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()


async def open_chat(browser: Any, url: str, name: str) -> Any:
    """A page of the chat that joined ``lobby`` as ``name``; it records its close codes."""
    page = await browser.new_page(viewport={"width": 1000, "height": 620})
    await page.goto(url + "/")
    await page.wait_for_function("window.chat.client.state === 'open'")
    await page.evaluate(
        "window.closes = []; chat.client.on('close', (detail) => closes.push(detail.code))"
    )
    await page.fill("#name", name)
    await page.fill("#room", "lobby")
    await page.click("#join button")
    await playwright_api.expect(page.locator("#title")).to_have_text(f"# lobby (as {name})")
    return page


async def say(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await playwright_api.expect(page.locator("#text")).to_have_value("")  # the reply came


def message(page: Any, sender: str, text: str) -> Any:
    return page.locator("#messages li.message", has_text=text).filter(has_text=sender)


async def test_two_pages_chat_and_keep_chatting_after_a_reload(
    chat_app: tuple[Path, str], browser: Any, tmp_path: Path
) -> None:
    app_dir, url = chat_app
    expect = playwright_api.expect
    ada = await open_chat(browser, url, "ada")
    bob = await open_chat(browser, url, "bob")
    await expect(ada.locator("#messages li.event", has_text="bob joined")).to_be_visible()
    await expect(ada.locator("#members li")).to_have_text(["ada", "bob"])

    await say(ada, "hello bob")
    await expect(message(bob, "ada", "hello bob")).to_be_visible()
    await expect(message(ada, "ada", "hello bob")).to_be_visible()  # the sender sees it too

    reloaded = appctl(app_dir, "ws:reload")
    assert reloaded.returncode == 0, reloaded.stderr
    for page in (ada, bob):  # closed with 1012, reconnected and joined lobby again by itself
        await page.wait_for_function("closes.includes(1012)", timeout=10_000)
        await expect(page.locator("#messages li.event", has_text="reconnected")).to_be_visible(
            timeout=10_000
        )
        await expect(page.locator("#state")).to_have_text("connected")
    await expect(ada.locator("#members li")).to_have_text(["ada", "bob"])

    await say(bob, "back after the reload")
    await expect(message(ada, "bob", "back after the reload")).to_be_visible()
    await say(ada, "me too")
    await expect(message(bob, "ada", "me too")).to_be_visible()
    await bob.screenshot(path=str(tmp_path / "chat.png"))

    for page in (ada, bob):
        await page.evaluate("chat.client.close()")
        await page.close()
