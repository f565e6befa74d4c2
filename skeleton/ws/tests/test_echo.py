"""The /echo module (raw parser): every frame comes back as it was sent."""

import pytest
from conftest import Connect

pytestmark = pytest.mark.anyio


async def test_echo_returns_text_and_binary_frames(ws: Connect) -> None:
    echo = (await ws("/echo")).ws
    for frame in ["hello", '{"cmd": "not parsed"}', b"\x00\xffbytes"]:
        await echo.send(frame)
        assert await echo.recv() == frame
