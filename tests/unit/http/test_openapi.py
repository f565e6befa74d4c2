"""The OpenAPI document: schemas from type hints, parameters from binding plans."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import pydantic

from framework.http import Header, JSONResponse, Query
from framework.http.binding import plan
from framework.http.openapi import OpenAPIRoute, SchemaBuilder, openapi_document
from framework.http.patterns import parse_pattern


class Color(enum.Enum):
    RED = "red"


@dataclass
class Tag:
    label: str


@dataclass
class Item:
    name: str
    price: float
    tags: list[Tag] = field(default_factory=list)
    color: Color | None = None


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


class Owner(pydantic.BaseModel):
    name: str
    pets: list[str] = []


def test_schemas() -> None:
    b = SchemaBuilder()
    assert b.schema(int) == {"type": "integer"}
    assert b.schema(list[str]) == {"type": "array", "items": {"type": "string"}}
    assert b.schema(dict[str, float]) == {
        "type": "object",
        "additionalProperties": {"type": "number"},
    }
    assert b.schema(int | None) == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert b.schema(Literal["a", "b"]) == {"enum": ["a", "b"]}
    assert b.schema(uuid.UUID) == {"type": "string", "format": "uuid"}
    assert b.schema(Annotated[int, "x"]) == {"type": "integer"}
    assert b.schema(Item) == {"$ref": "#/components/schemas/Item"}
    assert b.components["Item"] == {
        "type": "object",
        "title": "Item",
        "properties": {
            "name": {"type": "string"},
            "price": {"type": "number"},
            "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
            "color": {"anyOf": [{"enum": ["red"]}, {"type": "null"}]},
        },
        "required": ["name", "price"],
    }
    b.schema(Movie)
    assert b.components["Movie"]["required"] == ["title"]
    assert b.schema(Owner) == {"$ref": "#/components/schemas/Owner"}
    assert b.components["Owner"]["properties"]["pets"]["type"] == "array"


def no_beans(tp: Any) -> None:
    return None


def route(
    path: str, fn: Callable[..., Any], *methods: str, status: int | None = None
) -> OpenAPIRoute:
    pattern = parse_pattern(path)
    p = plan(fn, path_params=pattern.params, bean_getter=no_beans, where="t.py:1")
    return OpenAPIRoute(pattern, methods or ("GET",), fn.__name__, fn, p, status, None, "Items")


def test_document() -> None:
    def show(
        id: int, verbose: bool = False, x_trace: Annotated[str | None, Header()] = None
    ) -> Item:
        """Show one item.

        With all its tags.
        """
        raise NotImplementedError

    def create(item: Item) -> Item:
        raise NotImplementedError

    def remove(id: int) -> None: ...

    def search(q: Annotated[list[str], Query()]) -> JSONResponse:
        raise NotImplementedError

    doc = openapi_document(
        [
            route("/items/{id:int}", show),
            route("/items", create, "POST", status=201),
            route("/items/{id:int}", remove, "DELETE"),
            route("/search", search),
        ],
        title="T",
        version="1",
    )
    assert doc["openapi"] == "3.1.0" and doc["info"] == {"title": "T", "version": "1"}
    get_item = doc["paths"]["/items/{id}"]["get"]
    assert (
        get_item["summary"] == "Show one item." and get_item["description"] == "With all its tags."
    )
    assert get_item["tags"] == ["Items"]
    assert get_item["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
        {
            "name": "verbose",
            "in": "query",
            "required": False,
            "schema": {"type": "boolean", "default": False},
        },
        {
            "name": "x-trace",
            "in": "header",
            "required": False,
            "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
    ]
    assert get_item["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Item"
    }
    assert "422" in get_item["responses"]
    post = doc["paths"]["/items"]["post"]
    assert post["requestBody"]["required"] is True
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Item"
    }
    assert set(post["responses"]) == {"201", "422"}
    assert doc["paths"]["/items/{id}"]["delete"]["responses"] == {
        "204": {"description": "No Content"}
    }
    search_op = doc["paths"]["/search"]["get"]
    assert search_op["parameters"][0]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert search_op["responses"]["200"]["content"] == {"application/json": {}}
    assert {"Item", "Tag", "Error"} <= set(doc["components"]["schemas"])


def test_multi_method_routes_get_distinct_operation_ids() -> None:
    def both() -> dict[str, int]:
        return {}

    doc = openapi_document([route("/x", both, "GET", "POST")], title="T", version="1")
    ids = {op["operationId"] for op in doc["paths"]["/x"].values()}
    assert ids == {"both_get", "both_post"}
