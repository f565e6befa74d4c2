"""convert(): strings from the environment and typed values from config files."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Annotated, Any, Literal, NewType, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.config import ConfigError, convert
from framework.errors import FrameworkError

ENV = "env SWOOP_SERVER__PORT"


def env_value(value: Any, type_: Any) -> Any:
    return convert(value, type_, key="server.port", source=ENV)


class Level(enum.Enum):
    DEBUG = "debug"
    INFO = "info"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Base:
    pass


class Child(Base):
    pass


UserId = NewType("UserId", int)


@given(st.integers())
def test_int_round_trips_through_its_string(number: int) -> None:
    assert env_value(str(number), int) == number
    assert env_value(f"  {number} ", int) == number


@given(st.booleans(), st.data())
def test_bool_spellings_round_trip(flag: bool, data: st.DataObject) -> None:
    words = ["true", "1", "yes", "on"] if flag else ["false", "0", "no", "off", ""]
    word = data.draw(st.sampled_from(words))
    spelled = data.draw(st.sampled_from([word, word.upper(), word.title(), f" {word} "]))
    assert env_value(spelled, bool) is flag
    assert env_value(str(flag), bool) is flag


@pytest.mark.parametrize(
    ("value", "type_", "expected"),
    [
        (8080, int, 8080),
        ("1_000", int, 1000),
        ("0.5", float, 0.5),
        (3, float, 3.0),
        (True, bool, True),
        (0, bool, False),
        ("hello", str, "hello"),
        ("runtime/app.log", Path, Path("runtime/app.log")),
        ("a/b", PurePosixPath, PurePosixPath("a/b")),
        ("1, 2,3", list[int], [1, 2, 3]),
        ("", list[int], []),
        ((1, "2"), list[int], [1, 2]),
        ("a,b", tuple[str, ...], ("a", "b")),
        ("1,x", tuple[int, str], (1, "x")),
        ("1,2,1", set[int], {1, 2}),
        ("a", frozenset[str], frozenset({"a"})),
        ("a,b", list, ["a", "b"]),
        (None, Optional[int], None),  # noqa: UP045 - the spelling under test
        ("5", Optional[int], 5),  # noqa: UP045
        ("5", int | None, 5),
        (None, int | None, None),
        ("auto", int | Literal["auto"], "auto"),
        ("4", int | Literal["auto"], 4),
        ("info", Literal["debug", "info"], "info"),
        ("2", Literal[1, 2], 2),
        ("debug", Level, Level.DEBUG),
        ("INFO", Level, Level.INFO),
        (Level.INFO, Level, Level.INFO),
        ("2", Priority, Priority.HIGH),
        ("high", Priority, Priority.HIGH),
        ("7", Annotated[int, "meta"], 7),
        ("7", UserId, 7),
        ("x", Any, "x"),
        ("x", None, "x"),
        (Child, type[Base], Child),
        (len, Callable[..., Any], len),
        (Child(), Base, ...),
    ],
)
def test_converts(value: Any, type_: Any, expected: Any) -> None:
    result = env_value(value, type_)
    if expected is ...:
        assert result is value
    else:
        assert result == expected
        assert type(result) is type(expected)


def test_dict_becomes_a_deep_plain_copy() -> None:
    section = MappingProxyType({"pool": MappingProxyType({"size": 5}), "hosts": ("a", "b")})
    result = env_value(section, dict)
    assert result == {"pool": {"size": 5}, "hosts": ("a", "b")}
    assert type(result["pool"]) is dict
    assert env_value({"a": "1", "b": 2}, dict[str, int]) == {"a": 1, "b": 2}


def test_bad_int_from_env_names_key_value_and_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        env_value("abc", int)
    assert str(caught.value) == (
        "config key 'server.port' is 'abc', which is not an int\n"
        "  from: env SWOOP_SERVER__PORT\n"
        "  fix: set SWOOP_SERVER__PORT to a whole number, like 18306"
    )


def test_bad_value_from_a_file_points_into_the_file() -> None:
    with pytest.raises(ConfigError) as caught:
        convert(5, str, key="app.name", source="config/app.py")
    assert str(caught.value) == (
        "config key 'app.name' is 5, which is not a str\n"
        "  from: config/app.py\n"
        "  fix: make 'app.name' in config/app.py a string, in quotes"
    )


def test_bad_list_item_names_the_item() -> None:
    with pytest.raises(ConfigError) as caught:
        convert("1,x", list[int], key="server.ports", source=".env SWOOP_SERVER__PORTS")
    assert str(caught.value) == (
        "config key 'server.ports[1]' is 'x', which is not an int\n"
        "  from: .env SWOOP_SERVER__PORTS\n"
        "  fix: make item [1] of SWOOP_SERVER__PORTS a whole number, like 18306"
    )


@pytest.mark.parametrize(
    ("value", "type_", "what", "hint"),
    [
        (True, int, "an int", "a whole number, like 18306"),
        ("8080.0", int, "an int", "a whole number, like 18306"),
        ("fast", float, "a float", "a number, like 0.5"),
        ("maybe", bool, "a bool", "true or false"),
        (2, bool, "a bool", "true or false"),
        (5, Path, "a path", "a file system path, like 'runtime/app.log'"),
        (5, list[int], "a list", "a list (comma-separated in an env variable)"),
        ("a,b", tuple[str, str, str], "a list of 3 items", "a list of 3 items"),
        ("x", dict, "a dict", "a section (a dict)"),
        ("x", dict[str, int], "a dict", "a section (a dict)"),
        ("warn", Literal["debug", "info"], "one of 'debug', 'info'", "one of 'debug', 'info'"),
        ("warn", Level, "a Level", "one of debug, info"),
        (
            "x",
            int | Literal["auto"],
            "an int or one of 'auto'",
            "a whole number, like 18306 or one of 'auto'",
        ),
        (int, type[Base], "a subclass of Base", "a subclass of Base"),
        (5, Callable[[], int], "callable", "a function or another callable"),
        ("x", Base, "a Base", "a Base"),
        ("x", type(None), "None", "None"),
    ],
)
def test_mismatches_say_what_was_expected(value: Any, type_: Any, what: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        env_value(value, type_)
    head, source, fix = str(caught.value).splitlines()
    assert head == f"config key 'server.port' is {value!r}, which is not {what}"
    assert source == f"  from: {ENV}"
    assert fix == f"  fix: set SWOOP_SERVER__PORT to {hint}"


def test_unsupported_type_is_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        env_value("1", Iterator[int])
    assert str(caught.value) == (
        "config key 'server.port' asks for collections.abc.Iterator[int], which config values "
        "cannot convert to\n"
        "  fix: annotate it with int, float, bool, str, Path, list[...], tuple[...], dict, "
        "Literal[...], an enum or Any"
    )


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(ConfigError) as caught:
        env_value("x" * 500, int)
    assert len(str(caught.value).splitlines()[0]) < 150


def test_config_error_is_a_framework_error_and_a_key_error() -> None:
    error = ConfigError("line one\n  line two")
    assert isinstance(error, FrameworkError)
    assert isinstance(error, KeyError)
    assert str(error) == "line one\n  line two"
