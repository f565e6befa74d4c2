"""Shared test configuration: async tests run on anyio's asyncio backend."""

from __future__ import annotations

import inspect

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every coroutine test runs under anyio without each module repeating the marker.
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and inspect.iscoroutinefunction(function):
            item.add_marker(pytest.mark.anyio)


@pytest.fixture(autouse=True)
def _no_leaks(swoop_leak_check: None) -> None:
    """Every test of the framework must stop the servers, processes and threads it starts."""
