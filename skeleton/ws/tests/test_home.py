"""The chat page and the browser client it loads."""

import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_the_chat_page(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>{{name}} · chat</title>" in page.text
    assert '<script src="/_swoop/client.js"></script>' in page.text
    assert 'new SwoopClient("/chat"' in page.text


async def test_client_js_is_served(server: str, http: httpx.AsyncClient) -> None:
    script = await http.get("/_swoop/client.js")
    assert script.status_code == 200
    assert "class SwoopClient" in script.text
