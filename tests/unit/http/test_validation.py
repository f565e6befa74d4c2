"""Converting input to annotated types, in JSON and text modes."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.http.validation import Invalid, coercer, is_many, is_model


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Address:
    city: str
    zip: int | None = None


@dataclass
class Person:
    name: str
    age: int
    address: Address
    tags: list[str] = field(default_factory=list)


class Movie(TypedDict):
    title: str
    year: int
    rating: NotRequired[float]


@dataclass
class Node:
    value: int
    children: list[Node] = field(default_factory=list)


class Model(pydantic.BaseModel):
    name: str
    size: int = 1


def errors_of(tp: Any, value: Any, *, text: bool = False) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(Invalid) as info:
        coercer(tp, text=text)(value)
    return info.value.errors


@pytest.mark.parametrize(
    ("tp", "value", "expected"),
    [
        (int, "42", 42),
        (int, " -7 ", -7),
        (float, "1.5", 1.5),
        (bool, "yes", True),
        (bool, "OFF", False),
        (str, "x", "x"),
        (
            uuid.UUID,
            "12345678-1234-5678-1234-567812345678",
            uuid.UUID(int=0x12345678123456781234567812345678),
        ),
        (dt.date, "2024-02-29", dt.date(2024, 2, 29)),
        (Decimal, "1.10", Decimal("1.10")),
        (Color, "red", Color.RED),
        (Level, "2", Level.HIGH),
        (Literal["a", "b"], "b", "b"),
        (Literal[1, 2], "2", 2),
        (int | None, "3", 3),
        (list[int], ["1", "2"], [1, 2]),
        (list[int], "5", [5]),
        (tuple[int, str], ["1", "x"], (1, "x")),
        (set[int], ["1", "1"], {1}),
        (Annotated[int, "meta"], "9", 9),
    ],
)
def test_text_mode(tp: Any, value: Any, expected: Any) -> None:
    assert coercer(tp, text=True)(value) == expected


@pytest.mark.parametrize(
    ("tp", "value", "message"),
    [
        (int, "4.5", "expected an integer, got '4.5'"),
        (bool, "maybe", "expected true or false"),
        (float, "abc", "expected a number"),
        (uuid.UUID, "nope", "expected a UUID"),
        (Color, "green", "expected one of 'red', 'blue'"),
        (Literal["a", "b"], "c", "expected one of 'a', 'b'"),
    ],
)
def test_text_mode_errors(tp: Any, value: Any, message: str) -> None:
    [(loc, found)] = errors_of(tp, value, text=True)
    assert loc == ()
    assert message in found


def test_json_mode_is_strict_about_types() -> None:
    assert coercer(int)(3) == 3
    assert coercer(int)(3.0) == 3
    assert coercer(float)(2) == 2.0
    for tp, value in [(int, "3"), (int, True), (str, 1), (bool, "true"), (float, None)]:
        with pytest.raises(Invalid):
            coercer(tp)(value)


def test_dataclass_nested_errors_have_locations() -> None:
    person = coercer(Person)({"name": "Ada", "age": 36, "address": {"city": "London"}})
    assert person == Person("Ada", 36, Address("London"))
    errors = errors_of(Person, {"name": 1, "address": {"zip": "x"}, "tags": ["a", 2]})
    assert errors == [
        (("name",), "expected a string, got 1"),
        (("age",), "field required"),
        (("address", "city"), "field required"),
        (("address", "zip"), "expected an integer, got 'x'"),
        (("tags", 1), "expected a string, got 2"),
    ]


def test_dataclass_from_form_text() -> None:
    person = coercer(Person, text=True)(
        {"name": "Ada", "age": "36", "address": {"city": "L"}, "tags": "x"}
    )
    assert person == Person("Ada", 36, Address("L"), ["x"])


def test_typeddict_required_keys() -> None:
    assert coercer(Movie)({"title": "M", "year": 1927}) == {"title": "M", "year": 1927}
    assert errors_of(Movie, {"title": "M", "rating": "x"}) == [
        (("year",), "field required"),
        (("rating",), "expected a number, got 'x'"),
    ]


def test_recursive_dataclass() -> None:
    tree = coercer(Node)({"value": 1, "children": [{"value": 2}]})
    assert tree == Node(1, [Node(2)])


def test_pydantic_model_errors() -> None:
    assert coercer(Model)({"name": "x"}) == Model(name="x")
    errors = errors_of(Model, {"size": "big"})
    assert [loc for loc, _ in errors] == [("name",), ("size",)]


def test_mapping_and_union() -> None:
    assert coercer(dict[str, int])({"a": 1}) == {"a": 1}
    assert errors_of(dict[str, int], {"a": "x"}) == [(("a",), "expected an integer, got 'x'")]
    assert coercer(int | str)("x") == "x"
    assert coercer(int | None)(None) is None


def test_is_many_and_is_model() -> None:
    assert is_many(list[int]) and is_many(tuple[str, ...]) and is_many(list[int] | None)
    assert not is_many(int) and not is_many(str)
    assert is_model(Person) and is_model(Movie) and is_model(Model) and is_model(Person | None)
    assert not is_model(dict) and not is_model(int)


@given(
    st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans(), st.lists(st.text()))
)
def test_arbitrary_input_converts_or_is_invalid(value: Any) -> None:
    for tp in (int, float, bool, uuid.UUID, Person, list[int], Color, dt.datetime):
        for text in (False, True):
            try:
                coercer(tp, text=text)(value)
            except Invalid as exc:
                assert exc.errors
