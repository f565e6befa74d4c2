"""Convert request input to annotated types, collecting every error with its location.

:func:`coercer` builds, once per annotation, a function that converts a value or raises
:class:`Invalid`. Two modes: *JSON* values (``int`` must be a number) and *text* values from
the query string, headers, cookies and forms (``"42"`` becomes ``42``). Supported:
``str int float bool bytes Decimal UUID datetime date time``, enums, ``Literal``,
``Optional``/unions, ``list set frozenset tuple dict`` (and their ``collections.abc``
forms), dataclasses, ``TypedDict`` and, when pydantic is imported, pydantic models.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import datetime as dt
import enum
import inspect
import re
import sys
import types
import typing
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Annotated, Any, Literal, get_args, get_origin

__all__ = ["Coerce", "Invalid", "coercer", "is_many", "is_model", "strip_annotated"]

Coerce = Callable[[Any], Any]
Loc = tuple[str | int, ...]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_INT = re.compile(r"\s*[+-]?\d+\s*")
_SEQUENCES = (list, set, frozenset, tuple, cabc.Sequence, cabc.Set, cabc.MutableSequence,
              cabc.MutableSet, cabc.Iterable, cabc.Collection)  # fmt: skip
_MAPPINGS = (dict, cabc.Mapping, cabc.MutableMapping)


class Invalid(Exception):
    """Input that does not convert: ``errors`` is ``[(loc, message), ...]``."""

    def __init__(self, errors: list[tuple[Loc, str]]) -> None:
        super().__init__(errors)
        self.errors = errors

    @classmethod
    def one(cls, message: str) -> Invalid:
        return cls([((), message)])


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def strip_annotated(tp: Any) -> Any:
    """``Annotated[T, ...]`` -> ``T`` (and ``Required``/``NotRequired`` wrappers)."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated or origin in (typing.Required, typing.NotRequired):
            tp = get_args(tp)[0]
        else:
            return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType)


def _pydantic_model(tp: Any) -> bool:
    pydantic = sys.modules.get("pydantic")  # imported by the app if it uses models
    return pydantic is not None and isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def is_model(tp: Any) -> bool:
    """A dataclass, TypedDict or pydantic model class: bound from a whole object."""
    tp = strip_annotated(tp)
    if _is_union(tp):
        return any(is_model(a) for a in get_args(tp) if a is not type(None))
    return isinstance(tp, type) and (
        dataclasses.is_dataclass(tp) or typing.is_typeddict(tp) or _pydantic_model(tp)
    )


def is_many(tp: Any) -> bool:
    """A sequence type (``list[int]``, ``tuple[str, ...]``): takes every value of a key."""
    tp = strip_annotated(tp)
    if _is_union(tp):
        return any(is_many(a) for a in get_args(tp) if a is not type(None))
    return get_origin(tp) in _SEQUENCES or tp in (list, set, frozenset, tuple)


_cache: dict[tuple[Any, bool], Coerce] = {}


def coercer(tp: Any, *, text: bool = False) -> Coerce:
    """The converter for annotation ``tp`` (JSON mode, or text mode with ``text=True``)."""
    try:
        return _cache[tp, text]
    except KeyError:
        pass
    except TypeError:  # unhashable metadata in Annotated: build without caching
        return _build(tp, text)
    late: list[Coerce] = []
    _cache[tp, text] = lambda value: late[0](value)  # for recursive dataclasses
    try:
        built = _build(tp, text)
    except BaseException:
        del _cache[tp, text]
        raise
    late.append(built)
    _cache[tp, text] = built
    return built


def _build(tp: Any, text: bool) -> Coerce:
    tp = strip_annotated(tp)
    if tp in (Any, object, inspect.Parameter.empty) or isinstance(tp, typing.TypeVar):
        return _identity
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:  # NewType
        return coercer(supertype, text=text)
    if _is_union(tp):
        return _union(get_args(tp), text)
    origin = get_origin(tp)
    if origin is Literal:
        return _literal(get_args(tp), text)
    if origin in _SEQUENCES or tp in (list, set, frozenset, tuple):
        return _sequence(tp, origin or tp, text)
    if origin in _MAPPINGS or tp is dict:
        return _mapping(tp, text)
    if tp is type(None) or tp is None:
        return _none
    if not isinstance(tp, type):
        return _identity
    scalar = _scalar(tp, text)
    if scalar is not None:
        return scalar
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp, text)
    if typing.is_typeddict(tp):
        return _typeddict(tp, text)
    if _pydantic_model(tp):
        return _pydantic(tp)
    return _instance(tp)


def _identity(value: Any) -> Any:
    return value


def _none(value: Any) -> None:
    if value is None or value == "":
        return None
    raise Invalid.one(f"expected null, got {_show(value)}")


def _scalar(tp: type, text: bool) -> Coerce | None:
    if issubclass(tp, enum.Enum):
        return _enum(tp, text)
    if tp is bool:
        return _bool_text if text else _bool_json
    if tp is int:
        return _int_text if text else _int_json
    if tp is float:
        return _float_text if text else _float_json
    if tp is str:
        return _str
    if tp is bytes:
        return _bytes
    if tp in _PARSERS:
        parse, what = _PARSERS[tp]
        return _parsed(parse, what)
    if issubclass(tp, PurePath):
        return _parsed(tp, "a path")
    return None


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise Invalid.one(f"expected a string, got {_show(value)}")


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise Invalid.one(f"expected a string, got {_show(value)}")


def _bool_json(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid.one(f"expected true or false, got {_show(value)}")


def _bool_text(value: Any) -> bool:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return _bool_json(value)


def _int_json(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise Invalid.one(f"expected an integer, got {_show(value)}")


def _int_text(value: Any) -> int:
    if isinstance(value, str) and _INT.fullmatch(value):
        return int(value)
    return _int_json(value)


def _float_json(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise Invalid.one(f"expected a number, got {_show(value)}")


def _float_text(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return _float_json(value)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(value)
    return Decimal(str(value))


_PARSERS: dict[type, tuple[Callable[[Any], Any], str]] = {
    uuid.UUID: (lambda v: uuid.UUID(str(v)), "a UUID"),
    dt.datetime: (dt.datetime.fromisoformat, "an ISO 8601 datetime"),
    dt.date: (dt.date.fromisoformat, "an ISO 8601 date"),
    dt.time: (dt.time.fromisoformat, "an ISO 8601 time"),
    Decimal: (_decimal, "a decimal number"),
}


def _parsed(parse: Callable[[Any], Any], what: str) -> Coerce:
    def convert(value: Any) -> Any:
        try:
            return parse(value)
        except (ValueError, TypeError, AttributeError, InvalidOperation):
            raise Invalid.one(f"expected {what}, got {_show(value)}") from None

    return convert


def _enum(tp: type[enum.Enum], text: bool) -> Coerce:
    by_text = {str(m.value): m for m in tp} | {m.name: m for m in tp}
    choices = ", ".join(repr(m.value) for m in tp)

    def convert(value: Any) -> Any:
        try:
            return tp(value)
        except ValueError:
            if text and isinstance(value, str) and value in by_text:
                return by_text[value]
        raise Invalid.one(f"expected one of {choices}, got {_show(value)}")

    return convert


def _literal(choices: tuple[Any, ...], text: bool) -> Coerce:
    by_text = {(str(c).lower() if isinstance(c, bool) else str(c)): c for c in choices}
    shown = ", ".join(repr(c) for c in choices)

    def convert(value: Any) -> Any:
        for choice in choices:
            if type(choice) is type(value) and choice == value:
                return choice
        if text and isinstance(value, str) and value in by_text:
            return by_text[value]
        raise Invalid.one(f"expected one of {shown}, got {_show(value)}")

    return convert


def _union(members: tuple[Any, ...], text: bool) -> Coerce:
    nullable = type(None) in members
    options = [coercer(m, text=text) for m in members if m is not type(None)]

    def convert(value: Any) -> Any:
        if value is None and nullable:
            return None
        first: Invalid | None = None
        for option in options:
            try:
                return option(value)
            except Invalid as exc:
                first = first or exc
        if first is None:
            raise Invalid.one(f"unexpected value {_show(value)}")
        raise first

    return convert


def _sequence(tp: Any, origin: Any, text: bool) -> Coerce:
    args = get_args(tp)
    fixed: list[Coerce] | None = None
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        fixed = [coercer(a, text=text) for a in args]
    item = coercer(args[0] if args else Any, text=text)
    make: Callable[[list[Any]], Any] = list
    if origin in (set, cabc.Set, cabc.MutableSet):
        make = set
    elif origin is frozenset:
        make = frozenset
    elif origin is tuple:
        make = tuple

    def convert(value: Any) -> Any:
        if text and isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise Invalid.one(f"expected a list, got {_show(value)}")
        if fixed is not None and len(value) != len(fixed):
            raise Invalid.one(f"expected a list of {len(fixed)} items, got {len(value)}")
        out: list[Any] = []
        errors: list[tuple[Loc, str]] = []
        for index, element in enumerate(value):
            try:
                out.append((fixed[index] if fixed is not None else item)(element))
            except Invalid as exc:
                errors.extend(((index, *loc), msg) for loc, msg in exc.errors)
        if errors:
            raise Invalid(errors)
        return make(out)

    return convert


def _mapping(tp: Any, text: bool) -> Coerce:
    args = get_args(tp)
    key = coercer(args[0], text=True) if args else _identity
    val = coercer(args[1], text=text) if len(args) == 2 else _identity

    def convert(value: Any) -> Any:
        if not isinstance(value, dict):
            raise Invalid.one(f"expected an object, got {_show(value)}")
        out: dict[Any, Any] = {}
        errors: list[tuple[Loc, str]] = []
        for k, v in value.items():
            try:
                out[key(k)] = val(v)
            except Invalid as exc:
                errors.extend(((str(k), *loc), msg) for loc, msg in exc.errors)
        if errors:
            raise Invalid(errors)
        return out

    return convert


def _fields(fields: Sequence[tuple[str, Any, bool]], text: bool) -> Callable[[Any], dict[str, Any]]:
    """Convert an object's fields: ``(name, annotation, required)`` each."""
    plan = [
        (name, coercer(hint, text=text), required, is_many(hint)) for name, hint, required in fields
    ]

    def convert(value: Any) -> dict[str, Any]:
        if not isinstance(value, cabc.Mapping):
            raise Invalid.one(f"expected an object, got {_show(value)}")
        out: dict[str, Any] = {}
        errors: list[tuple[Loc, str]] = []
        for name, convert_field, required, many in plan:
            if name not in value:
                if required:
                    errors.append(((name,), "field required"))
                continue
            raw = value[name]
            if text and not many and isinstance(raw, list):
                raw = raw[-1]
            try:
                out[name] = convert_field(raw)
            except Invalid as exc:
                errors.extend(((name, *loc), msg) for loc, msg in exc.errors)
        if errors:
            raise Invalid(errors)
        return out

    return convert


def _dataclass(tp: type, text: bool) -> Coerce:
    hints = typing.get_type_hints(tp, include_extras=True)
    fields = [
        (
            f.name,
            hints.get(f.name, Any),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(tp)
        if f.init
    ]
    convert_fields = _fields(fields, text)

    def convert(value: Any) -> Any:
        if isinstance(value, tp):
            return value
        return tp(**convert_fields(value))

    return convert


def _typeddict(tp: Any, text: bool) -> Coerce:
    hints = typing.get_type_hints(tp, include_extras=True)
    required = typeddict_required(tp, hints)
    return _fields([(name, hint, name in required) for name, hint in hints.items()], text)


def typeddict_required(tp: Any, hints: dict[str, Any]) -> set[str]:
    """The required keys of a TypedDict, also when its annotations are strings (PEP 563),
    which hide ``NotRequired`` from ``__required_keys__`` on Python 3.11."""
    required = set(getattr(tp, "__required_keys__", hints))
    for name, hint in hints.items():
        origin = get_origin(hint)
        if origin is typing.NotRequired:
            required.discard(name)
        elif origin is typing.Required:
            required.add(name)
    return required


def _pydantic(tp: Any) -> Coerce:
    import pydantic

    def convert(value: Any) -> Any:
        try:
            return tp.model_validate(value)
        except pydantic.ValidationError as exc:
            raise Invalid([(tuple(e["loc"]), e["msg"]) for e in exc.errors()]) from None

    return convert


def _instance(tp: type) -> Coerce:
    def convert(value: Any) -> Any:
        if isinstance(value, tp):
            return value
        try:
            return tp(value)
        except (TypeError, ValueError):
            raise Invalid.one(f"expected {tp.__qualname__}, got {_show(value)}") from None

    return convert
