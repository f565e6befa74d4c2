"""Handler parameters: where each comes from, decided once at boot (a :class:`BindingPlan`).

For each parameter, in order:

1. a marker forces the source: ``Annotated[str, Header()]``, ``Cookie()``, ``Query()``,
   ``Body()`` (each takes an optional ``alias``);
2. its name is a path parameter -> the path;
3. annotated :class:`Request` -> the request;
4. its type is a bean (or ``Annotated[T, Named("x")]``) -> the bean (request scope is open);
5. a dataclass, ``TypedDict``, pydantic model, ``dict`` or ``list`` -> the body;
6. otherwise -> the query string (``list[T]`` takes every value of the key).

One model-typed body parameter receives the whole body; other body parameters (or several)
each read the key of their name in a JSON object / form. JSON bodies need
``Content-Type: application/json`` (or none); forms are ``application/x-www-form-urlencoded``
or ``multipart/form-data``; anything else is 415. Invalid input raises
:class:`RequestValidationError` (422) listing every bad field.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, get_args, get_origin

import orjson

from framework.container.marks import Named
from framework.errors import describe
from framework.http.errors import FieldError, HTTPException, RequestValidationError
from framework.http.patterns import PathParam
from framework.http.request import Request
from framework.http.routing import RouteError
from framework.http.validation import Coerce, Invalid, coercer, is_many, is_model, strip_annotated

__all__ = ["BindingPlan", "Body", "Cookie", "Header", "Parameter", "Query", "Source", "plan"]

MISSING: Final = object()
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class Source(enum.Enum):
    PATH = "path"
    QUERY = "query"
    HEADER = "header"
    COOKIE = "cookie"
    BODY = "body"
    REQUEST = "request"
    BEAN = "bean"


@dataclass(frozen=True, slots=True)
class _Marker:
    alias: str | None = None


class Query(_Marker):
    """``Annotated[int, Query()]``: bind from the query string (``alias``: the key)."""


class Header(_Marker):
    """``Annotated[str, Header()]``: bind from a header; ``x_token`` reads ``X-Token``."""


class Cookie(_Marker):
    """``Annotated[str, Cookie()]``: bind from a cookie."""


class Body(_Marker):
    """``Annotated[int, Body()]``: bind from the body (the key of its name, or ``alias``)."""


_MARKER_SOURCE: dict[type[_Marker], Source] = {
    Query: Source.QUERY,
    Header: Source.HEADER,
    Cookie: Source.COOKIE,
    Body: Source.BODY,
}
_CONVERTER_TYPES: dict[str, Any] = {"str": str, "path": str, "int": int, "float": float}


@dataclass(slots=True)
class Parameter:
    """How one handler parameter is bound (also read by the OpenAPI generator)."""

    name: str
    source: Source
    key: str
    annotation: Any
    default: Any = MISSING
    nullable: bool = False
    many: bool = False
    whole_body: bool = False
    convert: Coerce | None = None  # None: use the value as is
    convert_text: Coerce | None = None  # body parameters bound from a form
    getter: Callable[[], Any] | None = None  # beans

    @property
    def required(self) -> bool:
        return self.default is MISSING and not self.nullable


class BindingPlan:
    """The parameters of one handler, ready to bind per request."""

    __slots__ = ("body_params", "needs_request", "parameters", "passthrough", "raw_body")

    def __init__(self, parameters: list[Parameter], path_names: set[str]) -> None:
        self.parameters = tuple(parameters)
        self.body_params = tuple(p for p in parameters if p.source is Source.BODY)
        self.raw_body = any(p.annotation is bytes and p.whole_body for p in self.body_params)
        self.needs_request = any(
            p.source not in (Source.PATH, Source.BEAN) for p in self.parameters
        )
        # the router's dict can be passed as **kwargs when it already is exactly the kwargs
        self.passthrough = (
            all(p.source is Source.PATH and p.convert is None for p in self.parameters)
            and {p.name for p in self.parameters} == path_names
            and all(p.key == p.name for p in self.parameters)
        )

    async def bind(self, request: Request | None, path_params: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments for the handler.

        Raises:
            RequestValidationError: a value is missing or invalid (422).
            HTTPException: 400 (malformed body), 413 (too large), 415 (wrong content type).
        """
        body: Any = MISSING
        form = False
        if self.body_params:
            assert request is not None  # needs_request is true whenever there is a body param
            body, form = await self._body(request)
        kwargs: dict[str, Any] = {}
        errors: list[FieldError] = []
        for p in self.parameters:
            source = p.source
            if source is Source.BEAN:
                kwargs[p.name] = p.getter()  # type: ignore[misc]
                continue
            if source is Source.REQUEST:
                kwargs[p.name] = request
                continue
            raw = _extract(p, request, path_params, body)
            if raw is MISSING:
                if p.default is MISSING:
                    if p.nullable:
                        kwargs[p.name] = None
                    else:
                        errors.append(FieldError(_loc(p), "field required"))
                continue
            convert = p.convert_text if form and source is Source.BODY else p.convert
            if convert is None:
                kwargs[p.name] = raw
                continue
            try:
                kwargs[p.name] = convert(raw)
            except Invalid as exc:
                errors.extend(FieldError((*_loc(p), *loc), msg) for loc, msg in exc.errors)
        if errors:
            raise RequestValidationError(errors)
        return kwargs

    async def _body(self, request: Request) -> tuple[Any, bool]:
        if self.raw_body:
            return await request.body(), False
        kind = request.content_type
        if kind in _FORMS:
            return (await request.form()).to_dict(), True
        if kind == "application/json" or kind.endswith("+json") or not kind:
            raw = await request.body()
            if not raw.strip():
                return MISSING, False
            try:
                return orjson.loads(raw), False
            except orjson.JSONDecodeError as exc:
                raise HTTPException(400, f"request body is not valid JSON: {exc}") from None
        raise HTTPException(
            415,
            f"unsupported Content-Type {kind!r}: send application/json, "
            "application/x-www-form-urlencoded or multipart/form-data",
        )


def _loc(p: Parameter) -> tuple[str, ...]:
    return (p.source.value,) if p.whole_body else (p.source.value, p.key)


def _extract(
    p: Parameter, request: Request | None, path_params: Mapping[str, Any], body: Any
) -> Any:
    source = p.source
    if source is Source.PATH:
        return path_params.get(p.key, MISSING)
    assert request is not None
    if source is Source.QUERY:
        query = request.query_params
        if p.whole_body:  # a model bound from the whole query string
            return query.to_dict()
        if p.many:
            return query.getall(p.key) or MISSING
        return query.get(p.key, MISSING)
    if source is Source.HEADER:
        if p.many:
            return request.headers.getall(p.key) or MISSING
        found = request.headers.get(p.key)
        return MISSING if found is None else found
    if source is Source.COOKIE:
        return request.cookies.get(p.key, MISSING)
    if p.whole_body or body is MISSING:
        return body
    if not isinstance(body, Mapping):
        return MISSING
    return body.get(p.key, MISSING)


def _split(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    if get_origin(hint) is Annotated:
        base, *extras = get_args(hint)
        return base, tuple(extras)
    return hint, ()


def _nullable(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType) and type(None) in get_args(tp)


def plan(
    fn: Callable[..., Any],
    *,
    path_params: tuple[PathParam, ...],
    bean_getter: Callable[[Any], Callable[[], Any] | None],
    where: str,
    skip_first: bool = False,
) -> BindingPlan:
    """Decide how to bind each parameter of ``fn`` (read once, at boot).

    Args:
        fn: the handler function (unbound: ``skip_first`` skips ``self``).
        path_params: the route's path parameters.
        bean_getter: the container's getter for a type, or ``None`` when it is not a bean.
        where: ``file:line`` of the handler, for error messages.

    Raises:
        RouteError: a hint cannot be resolved, or a parameter cannot be bound as declared.
    """
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except NameError as exc:
        raise RouteError(
            describe(
                [
                    f"cannot read the type hints of handler {fn.__qualname__}: {exc}",
                    f"at: {where}",
                    "fix: import the name at module level (not only under TYPE_CHECKING)",
                ]
            )
        ) from exc
    by_name = {p.name: p for p in path_params}
    params = list(inspect.signature(fn).parameters.values())
    if skip_first:
        params = params[1:]
    found: list[Parameter] = []
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.kind is param.POSITIONAL_ONLY:
            raise RouteError(
                describe(
                    [
                        f"handler {fn.__qualname__} has positional-only parameter {param.name!r}",
                        f"at: {where}",
                        "fix: remove the '/' from its signature; parameters are bound by name",
                    ]
                )
            )
        hint = hints.get(param.name, inspect.Parameter.empty)
        default = MISSING if param.default is param.empty else param.default
        found.append(_parameter(param.name, hint, default, by_name, bean_getter))
    bodies = [p for p in found if p.source is Source.BODY]
    if len(bodies) > 1:
        for p in bodies:
            p.whole_body = False
    return BindingPlan(found, set(by_name))


def _parameter(
    name: str,
    hint: Any,
    default: Any,
    path: Mapping[str, PathParam],
    bean_getter: Callable[[Any], Callable[[], Any] | None],
) -> Parameter:
    base, extras = _split(hint)
    marker = next((e for e in extras if isinstance(e, _Marker)), None)
    plain = strip_annotated(base)
    nullable = _nullable(plain)
    if marker is not None:
        return _marked(name, marker, plain, default, nullable)
    if name in path:
        converter_type = _CONVERTER_TYPES.get(path[name].converter.name)
        exact = plain is inspect.Parameter.empty or plain is Any or plain is converter_type
        if path[name].converter.name == "uuid" and getattr(plain, "__name__", "") == "UUID":
            exact = True
        convert = None if exact else _from_path(coercer(plain, text=True))
        return Parameter(name, Source.PATH, name, plain, default, nullable, convert=convert)
    if plain is Request:
        return Parameter(name, Source.REQUEST, name, plain, default)
    if any(isinstance(e, Named) for e in extras):
        getter = bean_getter(hint)
    else:
        getter = bean_getter(plain) if isinstance(plain, type) else None
    if getter is not None:
        return Parameter(name, Source.BEAN, name, plain, default, getter=getter)
    if is_model(plain) or plain in (dict, list) or get_origin(plain) in (dict, list):
        return _marked(name, Body(), plain, default, nullable)
    return _marked(name, Query(), plain, default, nullable)


def _from_path(convert: Coerce) -> Coerce:
    return lambda value: convert(str(value))


def _marked(name: str, marker: _Marker, tp: Any, default: Any, nullable: bool) -> Parameter:
    source = _MARKER_SOURCE[type(marker)]
    key = marker.alias or name
    if source is Source.HEADER and marker.alias is None:
        key = name.replace("_", "-")
    if source is Source.HEADER:
        key = key.lower()
    many = is_many(tp)
    whole = is_model(tp) and source in (Source.QUERY, Source.BODY)
    if source is Source.BODY:
        whole = whole or plain_container(tp) or tp is bytes
        return Parameter(
            name,
            source,
            key,
            tp,
            default,
            nullable,
            many,
            whole,
            convert=None if tp is bytes else coercer(tp),
            convert_text=coercer(tp, text=True),
        )
    # query, header and cookie values are strings already
    convert = None if tp is str else coercer(tp, text=True)
    return Parameter(name, source, key, tp, default, nullable, many, whole, convert=convert)


def plain_container(tp: Any) -> bool:
    """``dict``/``list`` (bare or parametrised): a body parameter taking the whole body."""
    return tp in (dict, list) or get_origin(tp) in (dict, list)
