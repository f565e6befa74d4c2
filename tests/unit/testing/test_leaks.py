"""The leak check finds listening sockets, child processes and threads a test leaves behind."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

from framework import bean
from framework.testing import AppFactory, leaks_since, snapshot


def test_listening_socket_is_reported_until_closed() -> None:
    before = snapshot()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        assert f"listening socket 127.0.0.1:{port}" in leaks_since(before)
    finally:
        server.close()
    assert leaks_since(before) == []


def test_child_process_is_reported_until_reaped() -> None:
    before = snapshot()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert f"child process {child.pid}" in leaks_since(before)
    finally:
        child.kill()
        child.wait()
    assert leaks_since(before) == []


def test_thread_is_reported_until_it_ends() -> None:
    before = snapshot()
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, name="leaky")
    worker.start()
    try:
        assert "thread 'leaky'" in leaks_since(before)
    finally:
        stop.set()
        worker.join()
    assert leaks_since(before) == []


async def test_app_factory_shuts_down_started_apps() -> None:
    closed: list[str] = []

    @bean
    class Resource:
        async def aclose(self) -> None:
            closed.append("closed")

    factory = AppFactory()
    app = factory.from_classes(Resource)
    await app.startup()
    await factory.aclose()
    assert closed == ["closed"]
    assert not app.started
