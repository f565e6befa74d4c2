"""``/openapi.json`` on both engines, and the application lifecycle driven by lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, ClassVar, TypedDict

import httpx
import pydantic
import pytest

from framework import Application, bean
from framework.http import Header, asgi_app, controller, delete, get, post
from framework.testing.servers import serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("swoop_leak_check")]

ENGINES = ["hypercorn", "uvicorn"]


@dataclass
class Book:
    title: str
    year: int


class Query(TypedDict):
    text: str


class Review(pydantic.BaseModel):
    stars: int
    comment: str = ""


@controller("/books")
class BookController:
    @get("/{id:int}")
    async def show(self, id: int, x_lang: Annotated[str | None, Header()] = None) -> Book:
        """One book.

        Looked up by id.
        """
        return Book("Dune", 1965)

    @post("/", status_code=201, summary="Add a book")
    async def add(self, book: Book) -> Book:
        return book

    @post("/search")
    async def search(self, query: Query, page: int = 1) -> list[Book]:
        return []

    @post("/{id:int}/reviews")
    async def review(self, id: int, review: Review) -> Review:
        return review

    @delete("/{id:int}")
    async def remove(self, id: int) -> None:
        return None

    @get("/hidden", include_in_schema=False)
    async def hidden(self) -> str:
        return "hidden"


@bean
class Lifecycle:
    events: ClassVar[list[str]] = []

    async def init(self) -> None:
        Lifecycle.events.append("init")

    async def aclose(self) -> None:
        Lifecycle.events.append("aclose")


@pytest.fixture(params=ENGINES)
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    app = Application.from_classes(
        BookController,
        config={"app": {"name": "Library", "version": "2.0"}},
    )
    async with (
        serve_asgi(asgi_app(app), engine=request.param) as url,
        httpx.AsyncClient(base_url=url) as c,
    ):
        yield c


async def test_openapi_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "Library", "version": "2.0"}
    assert set(doc["paths"]) == {"/books", "/books/search", "/books/{id}", "/books/{id}/reviews"}
    show = doc["paths"]["/books/{id}"]["get"]
    assert (show["summary"], show["description"]) == ("One book.", "Looked up by id.")
    assert show["parameters"][0] == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    assert show["parameters"][1]["in"] == "header" and show["parameters"][1]["name"] == "x-lang"
    assert show["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Book"
    }
    add = doc["paths"]["/books"]["post"]
    assert add["summary"] == "Add a book" and "201" in add["responses"]
    assert add["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Book"
    }
    search = doc["paths"]["/books/search"]["post"]
    assert search["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Query"
    }
    assert search["parameters"] == [
        {
            "name": "page",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "default": 1},
        }
    ]
    assert search["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Book"},
    }
    review = doc["paths"]["/books/{id}/reviews"]["post"]
    assert review["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Review"
    }
    assert doc["paths"]["/books/{id}"]["delete"]["responses"] == {
        "204": {"description": "No Content"}
    }
    schemas = doc["components"]["schemas"]
    assert schemas["Book"]["required"] == ["title", "year"]
    assert schemas["Review"]["properties"]["stars"]["type"] == "integer"
    assert {"Book", "Query", "Review", "Error"} <= set(schemas)


async def test_openapi_can_be_turned_off() -> None:
    app = Application.from_classes(BookController, config={"http": {"openapi": False}})
    async with serve_asgi(asgi_app(app)) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/openapi.json")).status_code == 404
        assert (await client.get("/books/hidden")).text == "hidden"


@pytest.mark.parametrize("engine", ENGINES)
async def test_lifespan_starts_and_stops_the_application(engine: str) -> None:
    Lifecycle.events = []
    app = Application.from_classes(BookController, Lifecycle)
    async with serve_asgi(asgi_app(app), engine=engine):
        assert app.started and Lifecycle.events == ["init"]
    assert not app.started and Lifecycle.events == ["init", "aclose"]


async def test_lifespan_leaves_an_owner_started_application_alone() -> None:
    Lifecycle.events = []
    app = Application.from_classes(BookController, Lifecycle)
    async with app:
        async with serve_asgi(asgi_app(app)):
            pass
        assert app.started and Lifecycle.events == ["init"]
    assert Lifecycle.events == ["init", "aclose"]
