"""The pytest plugin (entry point ``swoop``): fixtures that always clean up after themselves.

Fixtures:
    swoop_apps: an :class:`~framework.testing.AppFactory`; started apps are shut down after
        the test (async tests, anyio).
    swoop_leak_check: fails the test if it leaves a listening socket, a child process or a
        thread behind. Opt in per module with ``pytestmark = pytest.mark.usefixtures(...)``
        or make it autouse in your conftest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from framework.testing.apps import AppFactory
from framework.testing.leaks import leaks_since, snapshot


@pytest.fixture
async def swoop_apps() -> AsyncIterator[AppFactory]:
    factory = AppFactory()
    try:
        yield factory
    finally:
        await factory.aclose()


@pytest.fixture
def swoop_leak_check() -> Iterator[None]:
    before = snapshot()
    yield
    leaks = leaks_since(before)
    if leaks:
        pytest.fail("test left running: " + ", ".join(leaks), pytrace=False)
