"""``appctl`` end to end for the http server, as a user runs it (subprocesses, a real port).

create:app -> http:start -d -> requests -> edit -> http:reload with 0 failed requests ->
kill -9 a worker -> respawned -> http:stop (pid file gone, port free); plus restart, start
twice, stop when stopped, a syntax error at start, a broken reload and --watch.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from framework.testing.processes import (
    APPCTL,
    RequestLoop,
    appctl,
    free_port,
    port_is_free,
    wait_for,
)


def create_app(parent: Path, name: str = "demo") -> Path:
    done = appctl(parent, "create:app", name, "--type", "http")
    assert done.returncode == 0, done.stderr
    return parent / name


@dataclass
class Server:
    """A daemonized server started by a test; :meth:`cleanup` always leaves nothing behind."""

    app_dir: Path
    port: int
    kind: str = "http"
    extra: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.app_dir / "runtime" / f"{self.kind}.pid"

    def run(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return appctl(self.app_dir, f"{self.kind}:{command}", *args)

    def start(self, *args: str) -> subprocess.CompletedProcess[str]:
        flags = ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "2"]
        return self.run("start", "-d", *flags, *self.extra, *args)

    def status(self) -> dict[str, Any]:
        done = self.run("status", "--json")
        assert done.returncode == 0, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    def worker_pids(self) -> list[int]:
        return [row["pid"] for row in self.status()["rows"] if row["state"] == "ready"]

    def master_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None

    def cleanup(self) -> None:
        """Stop the server if it still runs; kill what is left; leave the port free."""
        pids: list[int] = []
        master = self.master_pid()
        if master:
            with contextlib.suppress(Exception):
                pids = [row["pid"] for row in self.status()["rows"]]
            with contextlib.suppress(Exception):
                self.run("stop", "--timeout", "5")
        for pid in [p for p in (master, *pids) if p]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX process manager"),
]

OLD = '"framework": "swoop"'
NEW = '"framework": "swoop, reloaded"'


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(create_app(tmp_path), free_port())
    try:
        yield srv
    finally:
        srv.cleanup()


def home(server: Server) -> Path:
    return server.app_dir / "app" / "controller" / "home.py"


def fresh_get(url: str) -> httpx.Response:
    # a new connection each time, so a worker that closed its keep-alive cannot matter
    with httpx.Client(timeout=10.0) as client:
        return client.get(url)


def assert_stopped(server: Server) -> None:
    assert not server.pid_file.exists()
    assert not server.pid_file.with_suffix(".sock").exists()
    assert port_is_free(server.port)


def test_start_reload_kill_stop(server: Server) -> None:
    started = server.start()
    assert started.returncode == 0, started.stderr
    assert "HTTP server started on http://127.0.0.1:" in started.stdout
    assert server.master_pid()
    assert fresh_get(server.url).json() == {"app": "demo", "framework": "swoop"}

    with RequestLoop(server.url) as loop:
        wait_for(lambda: loop.ok > 20)
        home(server).write_text(home(server).read_text().replace(OLD, NEW))
        reloaded = server.run("reload")
        assert reloaded.returncode == 0, reloaded.stderr
        assert "reloaded 2 workers" in reloaded.stdout
        assert fresh_get(server.url).json()["framework"] == "swoop, reloaded"
        seen = loop.ok
        wait_for(lambda: loop.ok > seen + 20)
    assert loop.failures == []
    assert len(loop.bodies) == 2  # the old response, then the new one

    before = server.worker_pids()
    os.kill(before[0], signal.SIGKILL)
    after = wait_for(lambda: len(p := server.worker_pids()) == 2 and before[0] not in p and p)
    assert before[1] in after
    assert all(fresh_get(server.url).status_code == 200 for _ in range(10))
    table = server.run("status").stdout
    assert "Swoop version" in table and "load average" in table
    assert all(str(pid) in table for pid in after)

    stopped = server.run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert_stopped(server)


def test_restart_signals_and_live_status(server: Server) -> None:
    assert server.start().returncode == 0
    first = server.master_pid()
    restarted = server.run("restart")
    assert restarted.returncode == 0, restarted.stderr
    master = server.master_pid()
    assert master not in (None, first)
    assert fresh_get(server.url).status_code == 200  # same --host/--port/-d as the first start

    pids = set(server.worker_pids())
    os.kill(master, signal.SIGHUP)  # reload
    wait_for(lambda: len(p := set(server.worker_pids())) == 2 and not p & pids)

    live = subprocess.Popen(
        [*APPCTL, "-C", str(server.app_dir), "http:status", "--live", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)
        live.send_signal(signal.SIGINT)
        out, _ = live.communicate(timeout=10)
    finally:
        live.kill()
        live.wait()
    assert live.returncode == 0
    assert out.count("SWOOP HTTP SERVER") >= 2

    os.kill(master, signal.SIGTERM)  # as `docker stop` does
    wait_for(lambda: not server.pid_file.exists())
    assert_stopped(server)


def test_foreground_logs_to_stdout_and_stops_on_sigterm(server: Server) -> None:
    flags = ["--host", "127.0.0.1", "--port", str(server.port), "--workers", "1"]
    proc = subprocess.Popen(
        [*APPCTL, "-C", str(server.app_dir), "http:start", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: fresh_get(server.url).status_code == 200, timeout=20)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0
    assert "HTTP server started on" in out
    assert '"GET / 1.1" 200' in out  # the access log
    assert "received SIGTERM" in out and "stopped" in out
    assert_stopped(server)


def test_start_twice_then_stop_twice(server: Server) -> None:
    assert server.start().returncode == 0
    again = server.start()
    assert again.returncode == 4
    assert f"already running (pid {server.master_pid()})" in again.stderr
    assert server.run("stop").returncode == 0
    stopped = server.run("stop")
    assert stopped.returncode == 3
    assert "error: the http server is not running" in stopped.stderr
    assert "hint:" in stopped.stderr
    assert server.run("status").returncode == 3
    assert_stopped(server)


def test_a_syntax_error_fails_start_with_the_error(server: Server) -> None:
    home(server).write_text(home(server).read_text() + "\ndef broken(:\n")
    started = server.start()
    assert started.returncode == 1
    assert "SyntaxError" in started.stderr
    assert "home.py:" in started.stderr
    assert "Traceback" not in started.stderr
    assert_stopped(server)


def test_a_broken_reload_keeps_the_old_workers(server: Server) -> None:
    assert server.start().returncode == 0
    pids = server.worker_pids()
    with RequestLoop(server.url) as loop:
        wait_for(lambda: loop.ok > 20)
        home(server).write_text(home(server).read_text() + "\ndef broken(:\n")
        reloaded = server.run("reload")
        assert reloaded.returncode == 1
        assert "error: reload failed" in reloaded.stderr
        assert "the old workers keep serving" in reloaded.stderr
        assert "SyntaxError" in reloaded.stderr
        seen = loop.ok
        wait_for(lambda: loop.ok > seen + 20)
    assert loop.failures == []
    assert loop.bodies == {'{"app":"demo","framework":"swoop"}'}
    assert server.worker_pids() == pids
    assert server.run("stop").returncode == 0
    assert_stopped(server)


def test_watch_reloads_when_a_file_changes(server: Server) -> None:
    assert server.start("--watch").returncode == 0
    assert fresh_get(server.url).json()["framework"] == "swoop"
    time.sleep(0.5)  # let the watcher settle on its first scan
    home(server).write_text(home(server).read_text().replace(OLD, NEW))
    wait_for(lambda: fresh_get(server.url).json()["framework"] == "swoop, reloaded", timeout=20)
    log = (server.app_dir / "runtime" / "logs" / "http.log").read_text()
    assert "changed: app/controller/home.py" in log
    assert server.run("stop").returncode == 0
    assert_stopped(server)


def listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:``port`` (Linux ``/proc/net/tcp``, state 0A)."""
    wanted = f"0100007F:{port:04X}"
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[1] == wanted and line.split()[3] == "0A")


def test_reuse_port_spreads_connections_and_reloads_without_failures(server: Server) -> None:
    config = server.app_dir / "config" / "server.py"
    config.write_text(config.read_text() + "\nreuse_port = True\n")
    started = server.start()
    assert started.returncode == 0, started.stderr

    assert listening_sockets(server.port) == 2  # one per worker, on the same port

    held: list[socket.socket] = []
    try:
        for _ in range(40):  # the kernel hashes each new connection to one worker's socket
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.recv(4096).startswith(b"HTTP/1.1 200")
            held.append(conn)
        counts = wait_for(
            lambda: (
                len(c := [row["connections"] for row in server.status()["rows"]]) == 2
                and sum(c) >= 40
                and c
            )
        )
        assert min(counts) > 0, counts  # both workers accept, not the first one awake
    finally:
        for conn in held:
            conn.close()

    failures: list[str] = []
    stop = threading.Event()

    def new_connections() -> None:  # each request on a fresh connection, through the reload
        while not stop.is_set():
            try:
                assert fresh_get(server.url).status_code == 200
            except Exception as exc:  # every failure is reported below
                failures.append(repr(exc))

    loop = threading.Thread(target=new_connections)
    loop.start()
    try:
        time.sleep(0.5)
        home(server).write_text(home(server).read_text().replace(OLD, NEW))
        reloaded = server.run("reload")
        assert reloaded.returncode == 0, reloaded.stderr
        wait_for(lambda: fresh_get(server.url).json()["framework"] == "swoop, reloaded")
        time.sleep(0.5)
    finally:
        stop.set()
        loop.join(timeout=15)
    assert failures == []
    assert len(server.worker_pids()) == 2

    stopped = server.run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert_stopped(server)
