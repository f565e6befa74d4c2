"""Test helpers: apps built from given classes, real servers on loopback, leak checks.

* :class:`AppFactory` (fixture ``swoop_apps``): applications from classes or packages, with
  overrides; started ones are shut down after the test.
* :func:`serve_asgi` / :func:`serve_asgi_in_thread`: a real engine on ``127.0.0.1`` and a free
  port, stopped gracefully when the block exits.
* :class:`TestClient`: the HTTP app in-process, through ``httpx``.
* :func:`snapshot` / :func:`leaks_since` (fixture ``swoop_leak_check``): fail a test that leaves
  a listening socket, a child process or a thread behind.
"""

from framework.http.testclient import TestClient
from framework.testing.apps import AppFactory
from framework.testing.leaks import Snapshot, leaks_since, snapshot
from framework.testing.servers import serve_asgi, serve_asgi_in_thread

__all__ = [
    "AppFactory",
    "Snapshot",
    "TestClient",
    "leaks_since",
    "serve_asgi",
    "serve_asgi_in_thread",
    "snapshot",
]
