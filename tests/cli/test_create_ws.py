"""``appctl create:app --type ws``: the chat skeleton, its routes and beans, and its own tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from framework.cli import app

runner = CliRunner()


def appctl(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def chat(tmp_path: Path) -> Path:
    code, out, err = appctl("-C", str(tmp_path), "create:app", "chat", "--type", "ws")
    assert code == 0, err
    assert "created ws app 'chat'" in out
    return tmp_path / "chat"


@pytest.fixture
def isolated_imports() -> Iterator[None]:
    """app:* commands import the app's `app` package; forget it afterwards."""
    modules, path = set(sys.modules), list(sys.path)
    try:
        yield
    finally:
        for name in set(sys.modules) - modules:
            del sys.modules[name]
        sys.path[:] = path


def test_create_ws_app_copies_the_chat_skeleton(chat: Path) -> None:
    for name in [
        "pyproject.toml",
        "Dockerfile",
        "config/app.py",
        "config/server.py",
        "config/ws.py",
        "app/websocket/chat.py",
        "app/websocket/echo.py",
        "app/service/chat.py",
        "app/controller/home.py",
        "app/controller/rooms.py",
        "app/templates/chat.html",
        "tests/conftest.py",
        "tests/test_chat.py",
    ]:
        assert (chat / name).is_file(), name
    assert not (chat / "app" / "controller" / "user.py").exists()  # the http overlay's
    assert "{{" not in "".join(p.read_text() for p in chat.rglob("*") if p.is_file())
    assert "<title>chat · chat</title>" in (chat / "app" / "templates" / "chat.html").read_text()
    assert 'CMD ["appctl", "ws:start"' in (chat / "Dockerfile").read_text()
    assert "EXPOSE 18308" in (chat / "Dockerfile").read_text()
    assert "websockets" in (chat / "pyproject.toml").read_text()


def test_the_ws_app_listens_on_18308_with_one_worker(chat: Path) -> None:
    code, out, err = appctl("-C", str(chat), "app:config", "server.ws.port")
    assert code == 0, err
    assert out.strip() == "server.ws.port = 18308  (config/server.py)"
    code, out, _ = appctl("-C", str(chat), "app:config", "server.workers")
    assert out.strip() == "server.workers = 1  (config/server.py)"


def test_routes_and_beans_of_the_ws_app(chat: Path, isolated_imports: None) -> None:
    code, out, err = appctl("-C", str(chat), "app:routes", "--json")
    assert code == 0, err
    routes = {(r["methods"], r["path"]) for r in json.loads(out)}
    assert {("GET", "/"), ("POST", "/api/rooms/{room}/messages")} <= routes
    code, out, err = appctl("-C", str(chat), "app:beans", "--json")
    assert code == 0, err
    types = {b["type"] for b in json.loads(out)}
    assert {
        "app.service.chat.ChatService",
        "app.websocket.chat.ChatModule",
        "app.websocket.chat.ChatController",
        "app.websocket.echo.EchoModule",
    } <= types


@pytest.mark.slow
def test_the_generated_ws_app_passes_its_own_tests(chat: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"],
        cwd=chat,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "18 passed" in done.stdout
