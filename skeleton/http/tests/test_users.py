import httpx
import pytest

from framework import Application

from app.aspect.timing import Timing

pytestmark = pytest.mark.anyio


async def test_create_then_show(client: httpx.AsyncClient) -> None:
    created = await client.post("/users", json={"name": "Ada", "email": "Ada@Example.org"})
    assert created.status_code == 201
    user = created.json()
    assert user == {"id": 1, "name": "Ada", "email": "ada@example.org"}
    assert (await client.get(f"/users/{user['id']}")).json() == user
    assert (await client.get("/users")).json() == [user]


async def test_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/users/99")).status_code == 404


async def test_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    body = {"name": "Ada", "email": "ada@example.org"}
    assert (await client.post("/users", json=body)).status_code == 201
    assert (await client.post("/users", json=body)).status_code == 409


async def test_invalid_body_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/users", json={"name": "Ada"})
    assert response.status_code == 422


async def test_the_timing_aspect_advises_the_service(
    app: Application, client: httpx.AsyncClient
) -> None:
    await client.get("/users")
    assert "user_service.all" in app.container.get(Timing).calls
