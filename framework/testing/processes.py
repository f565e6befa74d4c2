"""Helpers for tests that run ``appctl`` and servers as subprocesses on loopback."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

__all__ = ["APPCTL", "RequestLoop", "appctl", "free_port", "port_is_free", "wait_for"]

#: ``appctl`` as this interpreter runs it (no reliance on PATH).
APPCTL = [sys.executable, "-m", "framework.cli"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 can be bound (nothing listens on it any more)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for(check: Callable[[], Any], *, timeout: float = 10.0, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy, and return that.

    Raises:
        AssertionError: not within ``timeout`` seconds (with the last value seen).
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            last = check()
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s (last: {last!r})")


def appctl(app_dir: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``appctl -C app_dir ARGS`` and capture its output."""
    return subprocess.run(
        [*APPCTL, "-C", str(app_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class RequestLoop:
    """Requests ``GET path`` back to back on a keep-alive client, in a thread, and counts
    successes, failures and the distinct bodies seen (``with RequestLoop(url) as loop:``)."""

    def __init__(self, url: str, path: str = "/") -> None:
        self.url, self.path = url, path
        self.ok = 0
        self.failures: list[str] = []
        self.bodies: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="request-loop", daemon=True)

    def __enter__(self) -> RequestLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10.0) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(self.path)
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if response.status_code == 200:
                    self.ok += 1
                    self.bodies.add(response.text)
                else:
                    self.failures.append(f"HTTP {response.status_code}")
