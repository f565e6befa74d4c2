import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_index_names_the_app(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.json() == {"app": "{{name}}", "framework": "swoop"}


async def test_hello(client: httpx.AsyncClient) -> None:
    response = await client.get("/hello/ada")
    assert response.json() == {"hello": "ada"}
