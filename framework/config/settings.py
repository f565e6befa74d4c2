"""The :class:`Config` type: merged settings, frozen, read with dotted keys like ``server.port``."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal, NoReturn, TypeVar, overload

from framework.config.convert import ConfigError, convert, thaw
from framework.errors import FrozenError, describe

__all__ = ["ENV_PREFIX", "MISSING", "Config", "KeyPath", "Layer", "Tree", "env_var_name"]

ENV_PREFIX: Final = "SWOOP_"

T = TypeVar("T")
D = TypeVar("D")
KeyPath = tuple[Any, ...]


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing.MISSING
"""The default of :meth:`Config.get`: no default, so a missing key raises."""


@dataclass(frozen=True, slots=True)
class Layer:
    """One place a config was read from; missing-key errors list them in order."""

    kind: Literal["files", "env", "mapping"]
    where: str  # "config", "config/prod", ENV_PREFIX, "<override>"


def env_var_name(key: str) -> str:
    """The environment variable that overrides a dotted key: ``db.url`` -> ``SWOOP_DB__URL``."""
    return ENV_PREFIX + "__".join(part.upper() for part in key.split("."))


class Config(Mapping[str, Any]):
    """Frozen settings read with dotted keys; iterating yields the top-level keys.

    Sections (dicts) are read-only mappings and lists are tuples; other values (classes,
    callables, instances) are kept as they are. Build one with :func:`load_config` or
    :meth:`from_mapping`; derive a changed copy with :meth:`merged`.

    Example::

        >>> config = Config.from_mapping({"server": {"port": "8080"}})
        >>> config.get("server.port", type=int)
        8080
        >>> config.get("server.host", "127.0.0.1")
        '127.0.0.1'
    """

    __slots__ = ("_data", "_flat", "_layers", "_prefix", "_sources")

    _data: Mapping[str, Any]
    _flat: dict[str, Any]  # every dotted key -> value, so get() is one dict lookup
    _sources: dict[str, str]  # every dotted key -> where its value was set
    _layers: tuple[Layer, ...]
    _prefix: str  # "db." for config.section("db"), so errors name the full key

    def __init__(self) -> None:
        """An empty config; use :meth:`from_mapping` or :func:`load_config` for a full one."""
        self._assign(MappingProxyType({}), {}, {}, (Layer("mapping", "<code>"),), "")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "<code>") -> Config:
        """A config holding ``data``; top-level keys may be dotted (``{"server.port": 1}``).

        Raises:
            ConfigError: a top-level key is not a string or not a dotted key.
        """
        tree = Tree()
        tree.merge_dotted(data, source)
        return tree.freeze((Layer("mapping", source),))

    @overload
    def get(self, key: str, *, type: type[T]) -> T: ...
    @overload
    def get(self, key: str, default: D, *, type: type[T]) -> T | D: ...
    @overload
    def get(self, key: str, default: Any = MISSING, *, type: Any = None) -> Any: ...
    def get(self, key: str, default: Any = MISSING, *, type: Any = None) -> Any:
        """The value at the dotted ``key``, converted to ``type`` when one is given.

        ``default`` is returned as given, without conversion, when the key is not set.

        Raises:
            ConfigError: the key is not set and there is no default, or the value cannot be
                converted to ``type`` (see :func:`~framework.config.convert`).
        """
        try:
            value = self._flat[key]
        except KeyError:
            if default is MISSING:
                raise self._missing(key) from None
            return default
        if type is None:
            return value
        return convert(value, type, key=self._prefix + key, source=self._sources[key])

    def __getitem__(self, key: str) -> Any:
        """The value at the dotted ``key``.

        Raises:
            ConfigError: the key is not set (it is also a ``KeyError``).
        """
        try:
            return self._flat[key]
        except KeyError:
            raise self._missing(key) from None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._flat

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        # Keys only: values often hold passwords.
        name = f" {self._prefix[:-1]!r}" if self._prefix else ""
        return f"<Config{name} keys={list(self._data)!r}>"

    def section(self, key: str) -> Config:
        """The sub-tree at the dotted ``key`` as a Config; an empty one if the key is not set.

        Raises:
            ConfigError: the key holds a single value, not a section.
        """
        full = f"{self._prefix}{key}."
        if key not in self._flat:
            return Config._make(MappingProxyType({}), {}, {}, self._layers, full)
        value = self._flat[key]
        if not isinstance(value, MappingProxyType):
            self._not_a_section(key, value)
        start = key + "."
        flat = {k[len(start) :]: v for k, v in self._flat.items() if k.startswith(start)}
        sources = {k[len(start) :]: w for k, w in self._sources.items() if k.startswith(start)}
        return Config._make(value, flat, sources, self._layers, full)

    def as_dict(self) -> dict[str, Any]:
        """A deep copy as plain dicts (lists stay tuples), safe to change."""
        return {key: thaw(value) for key, value in self._data.items()}

    def merged(self, overrides: Mapping[str, Any], *, source: str = "<override>") -> Config:
        """A new config with ``overrides`` deep-merged over this one (this one is unchanged).

        ``overrides`` may use dotted keys (``{"server.port": 1}``) or nested dicts; sections
        merge key by key, any other value replaces what was there.

        Raises:
            ConfigError: a top-level key of ``overrides`` is not a dotted key.
        """
        sources = {tuple(key.split(".")): where for key, where in self._sources.items()}
        tree = Tree(self.as_dict(), sources)
        tree.merge_dotted(overrides, source)
        layer = Layer("mapping", source)
        layers = self._layers if layer in self._layers else (*self._layers, layer)
        return tree.freeze(layers, self._prefix)

    def source_of(self, key: str) -> str:
        """Where the value at ``key`` was set: ``"config/server.py"``, ``"config/prod/db.py"``,
        ``"env SWOOP_SERVER__PORT"``, ``".env SWOOP_SERVER__PORT"``, ``"<code>"``...

        Raises:
            ConfigError: the key is not set.
        """
        try:
            return self._sources[key]
        except KeyError:
            raise self._missing(key) from None

    def __setitem__(self, key: str, value: Any) -> NoReturn:
        raise FrozenError(_frozen_message(self._prefix + key))

    def __delitem__(self, key: str) -> NoReturn:
        raise FrozenError(_frozen_message(self._prefix + key))

    def __copy__(self) -> Config:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        return self

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise FrozenError(_frozen_message(name))

    def __delattr__(self, name: str) -> NoReturn:
        raise FrozenError(_frozen_message(name))

    @classmethod
    def _make(
        cls,
        data: Mapping[str, Any],
        flat: dict[str, Any],
        sources: dict[str, str],
        layers: tuple[Layer, ...],
        prefix: str,
    ) -> Config:
        config = cls.__new__(cls)
        config._assign(data, flat, sources, layers, prefix)
        return config

    def _assign(
        self,
        data: Mapping[str, Any],
        flat: dict[str, Any],
        sources: dict[str, str],
        layers: tuple[Layer, ...],
        prefix: str,
    ) -> None:
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_flat", flat)
        object.__setattr__(self, "_sources", sources)
        object.__setattr__(self, "_layers", layers)
        object.__setattr__(self, "_prefix", prefix)

    def _missing(self, key: str) -> ConfigError:
        full = self._prefix + key
        top, _, rest = full.partition(".")
        variable = env_var_name(full)
        looked: list[str] = []
        fixes: list[str] = []
        for layer in self._layers:
            if layer.kind == "files":
                looked.append(f"{layer.where}/{top}.py")
                if not fixes:
                    where = f"{layer.where}/{top}.py"
                    fixes.append(f"add {rest!r} to {where}" if rest else f"create {where}")
            elif layer.kind == "env":
                looked.append(f"env {variable}")
                fixes.append(f"set {variable}")
            else:
                looked.append(layer.where)
        if not fixes:
            fixes.append(f"add {full!r} to {self._layers[0].where}")
        return ConfigError(
            describe(
                [
                    f"config key {full!r} is not set",
                    f"looked in: {', '.join(looked)}",
                    f"fix: {' or '.join(fixes)}",
                ]
            )
        )

    def _not_a_section(self, key: str, value: Any) -> NoReturn:
        full = self._prefix + key
        raise ConfigError(
            describe(
                [
                    f"config key {full!r} is {value!r}, not a section",
                    f"from: {self._sources[key]}",
                    f"fix: read it with config.get({full!r}), or make it a dict",
                ]
            )
        )


def _frozen_message(key: str) -> str:
    return describe(
        [
            f"config is frozen; cannot change {key!r}",
            "fix: build a changed copy with config.merged({...})",
        ]
    )


class Tree:
    """A mutable config tree that remembers where each key was set; frozen into a Config."""

    def __init__(
        self, data: dict[Any, Any] | None = None, sources: dict[KeyPath, str] | None = None
    ) -> None:
        self.data: dict[Any, Any] = {} if data is None else data
        # Only paths a layer set directly; a key without an entry inherits its parent's source.
        self.sources: dict[KeyPath, str] = {} if sources is None else sources

    def merge(self, overlay: Mapping[Any, Any], source: str) -> None:
        """Deep-merge ``overlay``: sections merge key by key, any other value replaces."""
        plain = {k: v.as_dict() if isinstance(v, Config) else thaw(v) for k, v in overlay.items()}
        self._merge(self.data, plain, source, ())

    def merge_dotted(self, overlay: Mapping[str, Any], source: str) -> None:
        """:meth:`merge`, where top-level keys like ``"server.port"`` address nested keys."""
        for key, value in overlay.items():
            head, *rest = _split(key, source)
            for part in reversed(rest):
                value = {part: value}
            self.merge({head: value}, source)

    def source_of(self, path: KeyPath) -> str:
        """Where ``path`` (or its nearest set parent) was set."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.sources:
                return self.sources[path[:end]]
        return "<code>"

    def freeze(self, layers: tuple[Layer, ...], prefix: str = "") -> Config:
        """The tree as a :class:`Config`; the tree itself may be dropped afterwards."""
        data = MappingProxyType({key: _freeze(value) for key, value in self.data.items()})
        flat: dict[str, Any] = {}
        sources: dict[str, str] = {}
        self._index(data, (), "", flat, sources)
        return Config._make(data, flat, sources, layers, prefix)

    def _merge(
        self, node: dict[Any, Any], overlay: dict[Any, Any], source: str, at: KeyPath
    ) -> None:
        for key, value in overlay.items():
            path = (*at, key)
            current = node.get(key)
            if isinstance(value, dict) and isinstance(current, dict):
                self._merge(current, value, source, path)
                continue
            node[key] = value
            for stale in [p for p in self.sources if p[: len(path)] == path]:
                del self.sources[stale]
            self.sources[path] = source

    def _index(
        self,
        node: Mapping[Any, Any],
        at: KeyPath,
        prefix: str,
        flat: dict[str, Any],
        sources: dict[str, str],
    ) -> None:
        for key, value in node.items():
            # Keys a dotted path cannot spell stay reachable through their parent mapping.
            if not isinstance(key, str) or not key or "." in key:
                continue
            path, dotted = (*at, key), prefix + key
            flat[dotted] = value
            sources[dotted] = self.source_of(path)
            if isinstance(value, MappingProxyType):
                self._index(value, path, dotted + ".", flat, sources)


def _freeze(value: Any) -> Any:
    if isinstance(value, Config):
        return value._data
    if isinstance(value, (dict, MappingProxyType)):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list) or type(value) is tuple:
        return tuple(_freeze(item) for item in value)
    if isinstance(value, set):
        return frozenset(value)
    return value


def _split(key: Any, source: str) -> list[str]:
    parts = key.split(".") if isinstance(key, str) else [""]
    if all(parts):
        return parts
    raise ConfigError(
        describe(
            [
                f"config key {key!r} is not a dotted key like 'server.port'",
                f"from: {source}",
                "fix: use string keys with non-empty parts separated by single dots",
            ]
        )
    )
