"""Route path patterns, sans-IO: ``/users/{id:int}/files/{rest:path}``.

A pattern is parsed once into literal parts and parameters; each parameter has a converter
(``str`` by default, ``int``, ``float``, ``uuid``, ``path``) giving its regex, the conversion of
the matched text, and the reverse (``PathPattern.format``, used by ``url_for``). A per-parameter
regex (Swoft's ``params={"id": r"\\d+"}``) replaces the converter's regex.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

__all__ = [
    "CONVERTERS",
    "Converter",
    "PathParam",
    "PathPattern",
    "join_paths",
    "parse_pattern",
]

_PCHAR_SAFE = "-._~!$&'()*+,;=:@"
_PARAM = re.compile(r"\{([^{}]*)\}")


def _float_to_path(value: Any) -> str:
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        raise ValueError(f"{value!r} cannot be written in a float path segment")
    text = repr(number)
    return format(Decimal(text), "f") if "e" in text or "E" in text else text


def _int_to_path(value: Any) -> str:
    if isinstance(value, bool) or int(value) < 0:
        raise ValueError(f"{value!r} cannot be written in an int path segment")
    return str(int(value))


@dataclass(frozen=True, slots=True)
class Converter:
    """How a ``{name:converter}`` parameter matches, converts, and is written back."""

    name: str
    regex: str
    convert: Callable[[str], Any] | None  # None: keep the string
    to_path: Callable[[Any], str]
    schema: Mapping[str, Any]


CONVERTERS: dict[str, Converter] = {
    "str": Converter(
        "str", r"[^/]+", None, lambda v: quote(str(v), safe=_PCHAR_SAFE), {"type": "string"}
    ),
    "int": Converter("int", r"[0-9]+", int, _int_to_path, {"type": "integer"}),
    "float": Converter("float", r"[0-9]+(?:\.[0-9]+)?", float, _float_to_path, {"type": "number"}),
    "uuid": Converter(
        "uuid",
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        uuid.UUID,
        lambda v: str(uuid.UUID(str(v))),
        {"type": "string", "format": "uuid"},
    ),
    "path": Converter(
        "path", r".+", None, lambda v: quote(str(v), safe=_PCHAR_SAFE + "/"), {"type": "string"}
    ),
}

# Specificity rank of a segment: lower sorts (and so matches) first.
_RANK_STATIC, _RANK_CONSTRAINED, _RANK_STR, _RANK_PATH = range(4)


@dataclass(frozen=True, slots=True)
class PathParam:
    name: str
    converter: Converter
    regex: str


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A parsed route path: literal parts and parameters, in order."""

    path: str
    parts: tuple[str | PathParam, ...]
    params: tuple[PathParam, ...]

    @property
    def is_static(self) -> bool:
        return not self.params

    @property
    def openapi_path(self) -> str:
        """``/users/{id}``: the path with converters removed, as OpenAPI writes it."""
        return "".join(p if isinstance(p, str) else "{" + p.name + "}" for p in self.parts)

    def regex(self, group_prefix: str = "") -> str:
        """The pattern as a regex; parameters are named groups ``<group_prefix><name>``."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(re.escape(part))
            else:
                out.append(f"(?P<{group_prefix}{part.name}>{part.regex})")
        return "".join(out)

    @property
    def shape(self) -> str:
        """What two patterns share when they match exactly the same paths."""
        return "".join(re.escape(p) if isinstance(p, str) else f"({p.regex})" for p in self.parts)

    @property
    def rank(self) -> tuple[int, ...]:
        ranks: list[int] = []
        current = _RANK_STATIC
        for part in self.parts:
            if isinstance(part, str):
                for _ in range(part.count("/")):
                    ranks.append(current)
                    current = _RANK_STATIC
            elif part.converter.name == "path":
                current = max(current, _RANK_PATH)
            elif part.converter.name == "str" and part.regex == part.converter.regex:
                current = max(current, _RANK_STR)
            else:
                current = max(current, _RANK_CONSTRAINED)
        ranks.append(current)
        return tuple(ranks)

    def format(self, values: Mapping[str, Any]) -> str:
        """Write the path back from parameter values (the reverse of matching).

        Raises:
            ValueError: a value is missing, or cannot be written so that it matches again.
        """
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            if part.name not in values:
                raise ValueError(f"missing value for path parameter {part.name!r}")
            text = part.converter.to_path(values[part.name])
            if not re.fullmatch(part.regex, text, re.DOTALL):
                raise ValueError(
                    f"{values[part.name]!r} does not match the pattern of {part.name!r}"
                )
            out.append(text)
        return "".join(out)


def join_paths(prefix: str, path: str) -> str:
    """``/user`` + ``{id}`` or ``/{id}`` -> ``/user/{id}``; no trailing slash except ``/``."""
    parts = [p.strip("/") for p in (prefix, path)]
    joined = "/" + "/".join(p for p in parts if p)
    return joined


def parse_pattern(path: str, regexes: Mapping[str, str] | None = None) -> PathPattern:
    """Parse ``/users/{id:int}/files/{rest:path}``.

    Raises:
        ValueError: unknown converter, bad or duplicate parameter name, unbalanced brace,
            a ``regexes`` entry for an absent parameter, or a regex that does not compile.
    """
    regexes = dict(regexes or {})
    parts: list[str | PathParam] = []
    params: list[PathParam] = []
    pos = 0
    for found in _PARAM.finditer(path):
        literal = path[pos : found.start()]
        _check_literal(path, literal)
        if literal:
            parts.append(literal)
        param = _param(path, found.group(1), regexes)
        if any(p.name == param.name for p in params):
            raise ValueError(f"path {path!r} declares parameter {{{param.name}}} twice")
        parts.append(param)
        params.append(param)
        pos = found.end()
    tail = path[pos:]
    _check_literal(path, tail)
    if tail:
        parts.append(tail)
    unknown = set(regexes) - {p.name for p in params}
    if unknown:
        raise ValueError(
            f"params= names {sorted(unknown)} that path {path!r} does not declare; "
            "add {name} to the path or remove the entry"
        )
    return PathPattern(path, tuple(parts), tuple(params))


def _check_literal(path: str, literal: str) -> None:
    if "{" in literal or "}" in literal:
        raise ValueError(f"path {path!r} has an unbalanced '{{' or '}}'")


def _param(path: str, spec: str, regexes: Mapping[str, str]) -> PathParam:
    name, _, conv = spec.partition(":")
    name, conv = name.strip(), conv.strip() or "str"
    if not name.isidentifier():
        raise ValueError(
            f"path {path!r}: parameter name {name!r} is not a Python identifier; "
            "it must name a handler parameter"
        )
    converter = CONVERTERS.get(conv)
    if converter is None:
        raise ValueError(
            f"path {path!r}: unknown converter {conv!r} in {{{spec}}}; "
            f"use one of {', '.join(CONVERTERS)}, or params={{{name!r}: r'regex'}}"
        )
    regex = regexes.get(name, converter.regex)
    try:
        re.compile(regex)
    except re.error as exc:
        raise ValueError(
            f"path {path!r}: regex {regex!r} of {{{name}}} is invalid: {exc}"
        ) from None
    return PathParam(name, converter, regex)
