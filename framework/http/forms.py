"""Multi-valued mappings (query strings, forms) and form body parsing.

``application/x-www-form-urlencoded`` is parsed with ``urllib.parse``; ``multipart/form-data``
with the standard library's ``email`` parser (the whole body is in memory anyway, bounded by
``http.max_body_size``). File parts become :class:`UploadFile`.
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

__all__ = [
    "FormData",
    "MultiDict",
    "UploadFile",
    "parse_multipart",
    "parse_pairs",
    "parse_urlencoded",
]


class MultiDict(Mapping[str, Any]):
    """A read-only mapping where a key may have several values.

    ``md[key]`` and ``md.get(key)`` give the first value; :meth:`getall` gives them all.
    """

    __slots__ = ("_items", "_lists")

    def __init__(self, items: Iterable[tuple[str, Any]] = ()) -> None:
        self._items = list(items)
        self._lists: dict[str, list[Any]] = {}
        for key, value in self._items:
            self._lists.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> Any:
        return self._lists[key][0]

    def get(self, key: str, default: Any = None) -> Any:
        found = self._lists.get(key)
        return default if found is None else found[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)

    def getall(self, key: str) -> list[Any]:
        return list(self._lists.get(key, ()))

    def items_all(self) -> list[tuple[str, Any]]:
        """Every ``(key, value)`` pair, in order, repeats included."""
        return list(self._items)

    def to_dict(self) -> dict[str, Any]:
        """Single values as is, repeated keys as lists (how models are bound from forms)."""
        return {k: v[0] if len(v) == 1 else list(v) for k, v in self._lists.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"


class FormData(MultiDict):
    """Form fields: ``str`` values, or :class:`UploadFile` for multipart file parts."""


@dataclass(frozen=True, slots=True)
class UploadFile:
    """A file part of a multipart form, fully read."""

    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def parse_pairs(data: bytes) -> list[tuple[str, str]]:
    """``a=1&b=x+y`` -> ``[("a", "1"), ("b", "x y")]`` (a query string or urlencoded form).

    Faster than ``urllib.parse.parse_qsl`` for the common case of nothing to unquote; blank
    values are kept, invalid UTF-8 is replaced.
    """
    if not data:
        return []
    pairs: list[tuple[str, str]] = []
    for pair in data.decode("utf-8", "replace").split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        pairs.append((key, value))
    return pairs


def parse_urlencoded(body: bytes) -> FormData:
    """Parse an urlencoded body."""
    return FormData(parse_pairs(body))


def parse_multipart(body: bytes, content_type: str) -> FormData:
    """Parse a ``multipart/form-data`` body (``content_type`` carries the boundary).

    Raises:
        ValueError: no boundary, or a part without a ``name``.
    """
    if "boundary=" not in content_type:
        raise ValueError("multipart/form-data without a boundary parameter")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("multipart/form-data body has no parts")
    items: list[tuple[str, Any]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a multipart part has no name in its Content-Disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            items.append((name, UploadFile(filename, part.get_content_type(), data)))
        else:
            charset = part.get_content_charset() or "utf-8"
            items.append((name, data.decode(charset, "replace")))
    return FormData(items)
