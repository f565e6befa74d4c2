"""The router, sans-IO: path patterns (``patterns.py``) compiled once, matched per request.

Static paths are one dict lookup. Dynamic patterns are joined into one regex over the
percent-decoded path (``.`` matches a newline too), ordered by specificity: static segments
before constrained parameters before ``str`` before ``path``. The outermost group of each
alternative tells which pattern matched (``Match.lastindex``). Misses are classified (404, 405
with ``Allow``, automatic ``OPTIONS``, trailing-slash redirect) on a slower path that only runs
when the fast path found nothing.

Route paths are normalised without a trailing slash (except ``/``); a request for ``/users/``
that matches nothing is redirected (308) to ``/users`` when that path has a route.

Behind a proxy that mounts the app under a prefix (ASGI ``root_path``), routes match
:func:`route_path`, the request path without the prefix, and :meth:`Router.url_for` puts the
router's ``root_path`` in front of the paths it builds.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from framework.errors import BootError, FrameworkError, describe
from framework.http.patterns import PathPattern

__all__ = [
    "DuplicateRouteError",
    "Miss",
    "MissKind",
    "Route",
    "RouteError",
    "RouteNotFoundError",
    "Router",
    "route_path",
]

E = TypeVar("E")

_EMPTY: dict[str, Any] = {}


class RouteError(BootError):
    """A route cannot be compiled: bad pattern, unknown converter, bad parameter regex."""


class DuplicateRouteError(RouteError):
    """Two handlers are mapped to the same method and path (or share a route name)."""


class RouteNotFoundError(FrameworkError, LookupError):
    """``url_for`` was asked for a route name that no handler declares."""


@dataclass(slots=True)
class Route(Generic[E]):
    """One mapped handler: a pattern, its methods, the endpoint to run, and where it is."""

    pattern: PathPattern
    methods: tuple[str, ...]
    endpoint: E
    name: str
    where: str = ""

    @property
    def path(self) -> str:
        return self.pattern.path


def route_path(path: str, root_path: str) -> str:
    """``path`` without the ``root_path`` prefix, to match routes on (Starlette's
    ``get_route_path``).

    Since asgiref 3.x the ASGI ``path`` includes ``root_path`` (uvicorn >= 0.26 sends
    ``/api/users`` for ``/users`` under ``/api``), while hypercorn and older servers send the
    path without it. So the prefix is removed when ``path`` starts with it at a segment
    boundary (``/api`` and ``/api/users``, not ``/apiary``), and any other path is taken as
    already relative. ``root_path`` is expected without a trailing slash; the mount point
    itself (``/api``) routes as ``/``.
    """
    if not path.startswith(root_path):
        return path
    rest = path[len(root_path) :]
    if not rest:
        return "/"
    return rest if rest[0] == "/" else path


class MissKind(enum.Enum):
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    OPTIONS = 204
    REDIRECT = 308


@dataclass(frozen=True, slots=True)
class Miss:
    """Why :meth:`Router.lookup` found nothing, and what to answer."""

    kind: MissKind
    allow: tuple[str, ...] = ()
    location: str | None = None  # REDIRECT: the path with the trailing slash removed


@dataclass(slots=True)
class _Dynamic(Generic[E]):
    pattern: PathPattern
    regex: re.Pattern[str]
    methods: dict[str, E] = field(default_factory=dict)
    groups: tuple[tuple[str, int, Callable[[str], Any] | None], ...] = ()


class Router(Generic[E]):
    """Routes compiled for matching and reversal.

    Args:
        routes: the routes; their order does not matter (specificity does).
        head: builds the endpoint answering an automatic ``HEAD`` from a ``GET`` endpoint;
            ``None`` disables automatic ``HEAD``.
        root_path: the prefix a proxy serves the app under (``"/api"``, no trailing slash);
            :meth:`url_for` starts its paths with it.

    Raises:
        DuplicateRouteError: two routes share a method and an equivalent pattern, or a name.
    """

    def __init__(
        self,
        routes: Iterable[Route[E]],
        *,
        head: Callable[[E], E] | None = None,
        root_path: str = "",
    ) -> None:
        self.routes = list(routes)
        self.root_path = root_path.rstrip("/")
        # root_path is decoded text, like the ASGI one; url_for returns encoded paths
        self._url_prefix = quote(self.root_path, safe="/-._~!$&'()*+,;=:@")
        self.static: dict[str, dict[str, E]] = {}
        self._by_name: dict[str, Route[E]] = {}
        self._check_duplicates()
        dynamic: dict[str, _Dynamic[E]] = {}
        for route in self.routes:
            pattern = route.pattern
            if pattern.is_static:
                table = self.static.setdefault(pattern.path, {})
            else:
                entry = dynamic.get(pattern.shape)
                if entry is None:
                    entry = dynamic[pattern.shape] = _Dynamic(
                        pattern, re.compile(pattern.regex() + r"\Z", re.DOTALL)
                    )
                table = entry.methods
            for method in route.methods:
                table[method] = route.endpoint
        for table in [*self.static.values(), *(d.methods for d in dynamic.values())]:
            if head is not None and "GET" in table and "HEAD" not in table:
                table["HEAD"] = head(table["GET"])
        self._dynamic = sorted(dynamic.values(), key=lambda d: d.pattern.rank)
        self._regex, self._entries = self._compile(self._dynamic)

    def _check_duplicates(self) -> None:
        seen: dict[tuple[str, str], Route[E]] = {}
        for route in self.routes:
            for method in route.methods:
                key = (method, route.pattern.shape)
                other = seen.setdefault(key, route)
                if other is not route:
                    raise DuplicateRouteError(
                        describe(
                            [
                                f"duplicate route {method} {route.path}"
                                + (f" (same as {other.path})" if other.path != route.path else ""),
                                f"first:  {other.name} ({other.where})",
                                f"second: {route.name} ({route.where})",
                                "fix: change the path or methods of one of them, or remove one",
                            ]
                        )
                    )
            other = self._by_name.setdefault(route.name, route)
            if other is not route:
                raise DuplicateRouteError(
                    describe(
                        [
                            f"duplicate route name {route.name!r}",
                            f"first:  {other.path} ({other.where})",
                            f"second: {route.path} ({route.where})",
                            "fix: pass a distinct name= to one of the decorators",
                        ]
                    )
                )

    @staticmethod
    def _compile(
        entries: list[_Dynamic[E]],
    ) -> tuple[re.Pattern[str] | None, dict[int, _Dynamic[E]]]:
        if not entries:
            return None, {}
        branches = [
            f"(?P<_r{i}>{entry.pattern.regex(f'_r{i}_')}\\Z)" for i, entry in enumerate(entries)
        ]
        regex = re.compile("|".join(branches), re.DOTALL)
        by_group: dict[int, _Dynamic[E]] = {}
        for i, entry in enumerate(entries):
            entry.groups = tuple(
                (p.name, regex.groupindex[f"_r{i}_{p.name}"], p.converter.convert)
                for p in entry.pattern.params
            )
            by_group[regex.groupindex[f"_r{i}"]] = entry
        return regex, by_group

    def lookup(self, method: str, path: str) -> tuple[E, dict[str, Any]] | None:
        """The endpoint and converted path parameters for a request, or ``None`` (a miss).

        ``path`` is the percent-decoded path (ASGI ``scope["path"]``). The returned dict must
        not be mutated: static routes share one empty dict.
        """
        table = self.static.get(path)
        if table is not None:
            endpoint = table.get(method)
            if endpoint is not None:
                return endpoint, _EMPTY
        regex = self._regex
        if regex is None:
            return None
        found = regex.match(path)
        if found is None:
            return None
        entry = self._entries[found.lastindex]  # type: ignore[index]
        endpoint = entry.methods.get(method)
        if endpoint is None:
            return self._scan(method, path)  # another pattern may allow the method
        try:
            return endpoint, {
                name: found.group(index) if convert is None else convert(found.group(index))
                for name, index, convert in entry.groups
            }
        except ValueError:  # a custom regex let through what the converter refuses
            return None

    def _scan(self, method: str, path: str) -> tuple[E, dict[str, Any]] | None:
        for entry in self._dynamic:
            found = entry.regex.match(path)
            if found is None or method not in entry.methods:
                continue
            try:
                params = {
                    p.name: found.group(p.name)
                    if p.converter.convert is None
                    else p.converter.convert(found.group(p.name))
                    for p in entry.pattern.params
                }
            except ValueError:
                continue
            return entry.methods[method], params
        return None

    def allowed(self, path: str) -> set[str]:
        """Every method some route accepts for ``path`` (empty: no route matches it)."""
        methods = set(self.static.get(path, ()))
        for entry in self._dynamic:
            if entry.regex.match(path) is not None:
                methods.update(entry.methods)
        return methods

    def miss(self, method: str, path: str) -> Miss:
        """Classify a :meth:`lookup` miss: 405/OPTIONS when the path matches other methods,
        308 when the path without its trailing slash has a route, else 404."""
        methods = self.allowed(path)
        if methods:
            allow = tuple(sorted(methods | {"OPTIONS"}))
            if method == "OPTIONS":
                return Miss(MissKind.OPTIONS, allow)
            return Miss(MissKind.METHOD_NOT_ALLOWED, allow)
        if len(path) > 1 and path.endswith("/"):
            stripped = path.rstrip("/") or "/"
            if self.allowed(stripped):
                return Miss(MissKind.REDIRECT, location=stripped)
        return Miss(MissKind.NOT_FOUND)

    def url_for(self, name: str, /, **params: Any) -> str:
        """The path of route ``name`` with ``params`` filled in, percent-encoded, below
        :attr:`root_path` (``/api/users/7`` for ``/users/{id}`` under ``/api``).

        Raises:
            RouteNotFoundError: no route has this name.
            ValueError: a parameter is missing or its value cannot match the pattern.
        """
        route = self._by_name.get(name)
        if route is None:
            raise RouteNotFoundError(
                f"no route named {name!r}; known names: {', '.join(sorted(self._by_name))}"
            )
        path = route.pattern.format(params)
        return self._url_prefix + path if self._url_prefix else path
