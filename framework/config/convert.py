"""Typed conversion of config values: env strings like ``"8080"`` or ``"yes"`` become typed values.

Values from ``config/*.py`` are usually typed already; environment variables are always strings.
:func:`convert` accepts both and raises :class:`ConfigError` naming the key, the bad value and
where it came from.
"""

from __future__ import annotations

import collections.abc as abc
import enum
import reprlib
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Annotated, Any, Literal, NoReturn, TypeVar, Union

from framework.errors import FrameworkError, describe

__all__ = ["ConfigError", "convert", "convert_variable", "thaw", "with_article"]

TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off", ""})

_SEQUENCES: dict[Any, type] = {
    list: list,
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    abc.Sequence: tuple,
    abc.Set: frozenset,
}
_MAPPINGS = (dict, abc.Mapping)
_SUPPORTED = (
    "int, float, bool, str, Path, list[...], tuple[...], dict, Literal[...], an enum or Any"
)

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 80


class ConfigError(FrameworkError, KeyError):
    """Config could not be loaded, a key is missing, or a value has the wrong type.

    It is a ``KeyError`` too, so a :class:`~framework.config.Config` behaves like any mapping.
    """

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message and show "\n" instead of line breaks.
        return str(self.args[0]) if self.args else ""


class _Mismatch(Exception):
    """Raised inside a conversion; :class:`_Conversion` turns it into a ConfigError."""

    def __init__(self, path: str, value: Any, what: str, hint: str) -> None:
        super().__init__(path)
        self.path, self.value, self.what, self.hint = path, value, what, hint


def convert(value: Any, type_: Any, *, key: str, source: str) -> Any:
    """Convert ``value`` (found at the dotted ``key``, set by ``source``) to ``type_``.

    Strings are parsed: ``"8080"`` -> ``8080``; ``"true"/"1"/"yes"/"on"`` -> ``True`` and
    ``"false"/"0"/"no"/"off"/""`` -> ``False``; ``"a,b,c"`` -> a list (``""`` -> empty).
    Supported types: int, float, bool, str, ``pathlib`` paths, ``list[X]``, ``tuple[X, ...]``,
    ``set[X]``, ``dict[K, V]``, ``X | None``, unions, ``Literal[...]``, enums (by value or
    name), ``type[X]``, ``Callable``, ``Annotated[X, ...]`` and ``Any``/``None`` (no conversion).
    Other classes are checked with ``isinstance``.

    Raises:
        ConfigError: the value cannot be converted; the message names key, value and source.
    """
    return _Conversion("config key", key, source).run(value, type_)


def convert_variable(value: str, type_: Any, *, name: str, source: str) -> Any:
    """:func:`convert` for an environment variable read with ``env()`` inside a config file."""
    return _Conversion("environment variable", name, source).run(value, type_)


def thaw(value: Any) -> Any:
    """A deep copy of ``value`` with every ``dict`` and read-only mapping made a plain ``dict``."""
    if isinstance(value, (dict, types.MappingProxyType)):
        return {k: thaw(v) for k, v in value.items()}
    return value


class _Conversion:
    def __init__(self, noun: str, key: str, source: str) -> None:
        self.noun, self.key, self.source = noun, key, source

    def run(self, value: Any, type_: Any) -> Any:
        try:
            return _to(value, type_, self.key)
        except _Mismatch as bad:
            raise ConfigError(self._message(bad)) from None

    def _message(self, bad: _Mismatch) -> str:
        return describe(
            [
                f"{self.noun} {bad.path!r} is {_repr.repr(bad.value)}, which is not {bad.what}",
                f"from: {self.source}",
                f"fix: {self._target(bad.path)} {bad.hint}",
            ]
        )

    def _target(self, path: str) -> str:
        kind, _, variable = self.source.partition(" ")
        if kind in {"env", ".env"} and variable:
            suffix = path[len(self.key) :]
            return f"make item {suffix} of {variable}" if suffix else f"set {variable} to"
        return f"make {path!r} in {self.source}"


def _to(value: Any, tp: Any, path: str) -> Any:
    if tp is None or tp is Any or tp is object or isinstance(tp, TypeVar):
        return value
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _to(value, typing.get_args(tp)[0], path)
    if origin is Union or origin is types.UnionType:
        return _union(value, typing.get_args(tp), path)
    if origin is Literal:
        return _literal(value, typing.get_args(tp), path)
    if origin is not None:
        return _generic(value, tp, path)
    if hasattr(tp, "__supertype__"):  # typing.NewType
        return _to(value, tp.__supertype__, path)
    if isinstance(tp, type):
        return _class(value, tp, path)
    _unsupported(tp, path)


def _unsupported(tp: Any, path: str) -> NoReturn:
    raise ConfigError(
        describe(
            [
                f"config key {path!r} asks for {tp!r}, which config values cannot convert to",
                f"fix: annotate it with {_SUPPORTED}",
            ]
        )
    )


def _class(value: Any, tp: type, path: str) -> Any:
    scalar = _SCALARS.get(tp)
    if scalar is not None:
        return scalar(value, path)
    if issubclass(tp, enum.Enum):
        return _enum(value, tp, path)
    if issubclass(tp, PurePath):
        if isinstance(value, (str, PurePath)):
            return tp(value)
        raise _Mismatch(path, value, "a path", "a file system path, like 'runtime/app.log'")
    if tp in _SEQUENCES:
        return _sequence(value, tp, (), path)
    if tp is dict:
        if isinstance(value, Mapping):
            return {k: thaw(v) for k, v in value.items()}
        raise _Mismatch(path, value, "a dict", "a section (a dict)")
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch(path, value, "None", "None")
    if isinstance(value, tp):
        return value
    name = with_article(tp.__name__)
    raise _Mismatch(path, value, name, name)


def _bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    if type(value) is int and value in (0, 1):
        return value == 1
    raise _Mismatch(path, value, "a bool", "true or false")


def _int(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _Mismatch(path, value, "an int", "a whole number, like 18306")


def _float(value: Any, path: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise _Mismatch(path, value, "a float", "a number, like 0.5")


def _str(value: Any, path: str) -> str:
    if isinstance(value, str):
        return value
    raise _Mismatch(path, value, "a str", "a string, in quotes")


_SCALARS: dict[type, Callable[[Any, str], Any]] = {
    bool: _bool,
    int: _int,
    float: _float,
    str: _str,
}


def _enum(value: Any, tp: type[enum.Enum], path: str) -> Any:
    if isinstance(value, tp):
        return value
    for member in tp:
        if value == member.value or value == member.name:
            return member
    if isinstance(value, str):
        wanted = value.strip().lower()
        for member in tp:
            if wanted in (member.name.lower(), str(member.value).lower()):
                return member
    names = ", ".join(member.name.lower() for member in tp)
    raise _Mismatch(path, value, f"a {tp.__name__}", f"one of {names}")


def _literal(value: Any, choices: tuple[Any, ...], path: str) -> Any:
    for choice in choices:
        if value == choice and type(value) is type(choice):
            return choice
    if isinstance(value, str):
        for choice in choices:
            if not isinstance(choice, str) and _parses_to(value, choice, path):
                return choice
    listed = ", ".join(repr(choice) for choice in choices)
    raise _Mismatch(path, value, f"one of {listed}", f"one of {listed}")


def _parses_to(text: str, choice: Any, path: str) -> bool:
    try:
        return bool(_to(text, type(choice), path) == choice)
    except (_Mismatch, ConfigError):
        return False


def _union(value: Any, members: tuple[Any, ...], path: str) -> Any:
    if value is None and type(None) in members:
        return None
    options = [member for member in members if member is not type(None)]
    if len(options) == 1:
        return _to(value, options[0], path)
    failures: list[_Mismatch] = []
    for option in options:
        try:
            return _to(value, option, path)
        except _Mismatch as bad:
            failures.append(bad)
    what = " or ".join(bad.what for bad in failures)
    hint = " or ".join(bad.hint for bad in failures)
    raise _Mismatch(path, value, what, hint)


def _generic(value: Any, tp: Any, path: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in _SEQUENCES:
        return _sequence(value, _SEQUENCES[origin], args, path)
    if origin in _MAPPINGS:
        return _mapping(value, args, path)
    if origin is type:
        base = args[0] if args else Any
        if isinstance(value, type) and (base is Any or issubclass(value, base)):
            return value
        name = "a class" if base is Any else f"a subclass of {base.__name__}"
        raise _Mismatch(path, value, name, name)
    if origin is abc.Callable:
        if callable(value):
            return value
        raise _Mismatch(path, value, "callable", "a function or another callable")
    _unsupported(tp, path)


def _sequence(value: Any, kind: type, args: tuple[Any, ...], path: str) -> Any:
    if isinstance(value, str):
        items: list[Any] = [part.strip() for part in value.split(",")] if value.strip() else []
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        raise _Mismatch(path, value, "a list", "a list (comma-separated in an env variable)")
    if kind is tuple and args and args[-1] is not Ellipsis:
        if len(items) != len(args):
            what = f"a list of {len(args)} items"
            raise _Mismatch(path, value, what, what)
        return tuple(
            _to(item, arg, f"{path}[{i}]")
            for i, (item, arg) in enumerate(zip(items, args, strict=True))
        )
    item_type = args[0] if args else Any
    return kind(_to(item, item_type, f"{path}[{i}]") for i, item in enumerate(items))


def _mapping(value: Any, args: tuple[Any, ...], path: str) -> dict[Any, Any]:
    if not isinstance(value, Mapping):
        raise _Mismatch(path, value, "a dict", "a section (a dict)")
    key_type, value_type = args if len(args) == 2 else (Any, Any)
    return {_to(k, key_type, path): _to(v, value_type, f"{path}.{k}") for k, v in value.items()}


def with_article(word: str) -> str:
    """``"int"`` -> ``"an int"``, ``"list"`` -> ``"a list"``."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
