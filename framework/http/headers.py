"""Case-insensitive views over ASGI header lists (``[(b"name", b"value"), ...]``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping

__all__ = ["Headers", "MutableHeaders"]

#: Header names as written in code -> their wire form; filled on first use, bounded.
_KEYS: dict[str, bytes] = {}
_KEYS_LIMIT = 512


def _key(name: str) -> bytes:
    """``name`` lowercased and encoded, remembered for the next response (middleware set the
    same few names on every request)."""
    key = name.lower().encode("latin-1")
    if len(_KEYS) < _KEYS_LIMIT:
        _KEYS[name] = key
    return key


class Headers(Mapping[str, str]):
    """Read-only request headers: ``headers["content-type"]``, ``headers.getall("accept")``.

    Lookups are case-insensitive; ``[]`` and ``get`` return the first value of a name.
    """

    __slots__ = ("_index", "raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw
        self._index: dict[str, str] | None = None

    def _dict(self) -> dict[str, str]:
        index = self._index
        if index is None:
            index = {}
            for name, value in self.raw:
                index.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
            self._index = index
        return index

    def __getitem__(self, name: str) -> str:
        return self._dict()[name.lower()]

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._dict().get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._dict()

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def getall(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        key = name.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self.raw if k.lower() == key]

    def __repr__(self) -> str:
        return f"Headers({self.raw!r})"


class MutableHeaders(MutableMapping[str, str]):
    """Response headers, edited in place on the response's raw list.

    ``headers["x"] = "1"`` replaces every ``x`` header; :meth:`append` adds one more.
    """

    __slots__ = ("raw",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw

    def __getitem__(self, name: str) -> str:
        key = name.lower().encode("latin-1")
        for k, v in self.raw:
            if k == key:
                return v.decode("latin-1")
        raise KeyError(name)

    def __setitem__(self, name: str, value: str) -> None:
        try:
            key = _KEYS[name]  # a subscript costs less than a .get() call
        except KeyError:
            key = _key(name)
        # ASCII (nearly every value) encodes the same in UTF-8, whose codec needs no lookup
        pair = (key, value.encode() if value.isascii() else value.encode("latin-1"))
        raw = self.raw
        for k, _ in raw:
            if k == key:
                break
        else:  # the common case: a new name
            raw.append(pair)
            return
        first = next(i for i, (k, _) in enumerate(raw) if k == key)
        raw[first:] = [pair, *((k, v) for k, v in raw[first + 1 :] if k != key)]

    def __delitem__(self, name: str) -> None:
        key = name.lower().encode("latin-1")
        kept = [(k, v) for k, v in self.raw if k != key]
        if len(kept) == len(self.raw):
            raise KeyError(name)
        self.raw[:] = kept

    def __iter__(self) -> Iterator[str]:
        seen: dict[str, None] = {}
        for k, _ in self.raw:
            seen.setdefault(k.decode("latin-1"), None)
        return iter(seen)

    def __len__(self) -> int:
        return len({k for k, _ in self.raw})

    def append(self, name: str, value: str) -> None:
        """Add a header without removing others of the same name (``Set-Cookie``)."""
        self.raw.append((name.lower().encode("latin-1"), value.encode("latin-1")))

    def getall(self, name: str) -> list[str]:
        key = name.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self.raw if k == key]

    def __repr__(self) -> str:
        return f"MutableHeaders({self.raw!r})"
