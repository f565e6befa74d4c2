"""Fixtures: the app booted from this directory, and an in-process HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from framework import Application
from framework.http.testclient import TestClient

APP_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app() -> Application:
    return Application.boot(app_dir=APP_DIR)


@pytest.fixture
async def client(app: Application) -> AsyncIterator[httpx.AsyncClient]:
    async with TestClient(app) as client:
        yield client
