"""Shared test configuration: async tests run on anyio's asyncio backend (anyio_mode=auto)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_leaks(swoop_leak_check: None) -> None:
    """Every test of the framework must stop the servers, processes and threads it starts."""
