"""The OpenAPI 3.1 document, generated once from the routes and their type hints.

Paths come from route patterns (``{id:int}`` becomes ``{id}`` with an integer schema),
parameters from each handler's binding plan, request bodies from body parameters
(dataclasses, ``TypedDict`` and pydantic models become ``components.schemas``), and the
success response from the return annotation.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import datetime as dt
import enum
import inspect
import sys
import types
import typing
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, get_args, get_origin

from framework.http.binding import MISSING, BindingPlan, Source
from framework.http.errors import phrase
from framework.http.patterns import PathPattern
from framework.http.responses import Response
from framework.http.validation import strip_annotated, typeddict_required

__all__ = ["OpenAPIRoute", "SchemaBuilder", "openapi_document"]

JSON = dict[str, Any]

_SIMPLE: dict[Any, JSON] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    bytes: {"type": "string", "format": "binary"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    dt.datetime: {"type": "string", "format": "date-time"},
    dt.date: {"type": "string", "format": "date"},
    dt.time: {"type": "string", "format": "time"},
    Decimal: {"type": "string", "format": "decimal"},
    type(None): {"type": "null"},
}
_ARRAYS = (list, set, frozenset, tuple, cabc.Sequence, cabc.Set, cabc.Iterable, cabc.Collection)


@dataclass(frozen=True, slots=True)
class OpenAPIRoute:
    """What the generator needs to know about one route."""

    pattern: PathPattern
    methods: tuple[str, ...]
    name: str
    function: Callable[..., Any]
    plan: BindingPlan
    status_code: int | None = None
    summary: str | None = None
    tag: str | None = None


class SchemaBuilder:
    """JSON Schemas for annotations; named models are collected in :attr:`components`."""

    def __init__(self) -> None:
        self.components: dict[str, JSON] = {}

    def schema(self, tp: Any) -> JSON:
        tp = strip_annotated(tp)
        if tp in _SIMPLE:
            return dict(_SIMPLE[tp])
        if tp in (Any, object, inspect.Parameter.empty) or isinstance(tp, typing.TypeVar):
            return {}
        origin = get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            return {"anyOf": [self.schema(a) for a in get_args(tp)]}
        if origin is Literal:
            return {"enum": list(get_args(tp))}
        if origin in _ARRAYS or tp in (list, set, frozenset, tuple):
            return self._array(tp, origin)
        if origin in (dict, cabc.Mapping) or tp is dict:
            args = get_args(tp)
            extra = self.schema(args[1]) if len(args) == 2 else {}
            return {"type": "object", "additionalProperties": extra}
        if isinstance(tp, type):
            return self._class(tp)
        return {}

    def _array(self, tp: Any, origin: Any) -> JSON:
        args = get_args(tp)
        if (origin or tp) is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            items = [self.schema(a) for a in args]
            return {"type": "array", "prefixItems": items, "minItems": len(items),
                    "maxItems": len(items)}  # fmt: skip
        out: JSON = {"type": "array", "items": self.schema(args[0]) if args else {}}
        if (origin or tp) in (set, frozenset, cabc.Set):
            out["uniqueItems"] = True
        return out

    def _class(self, tp: type) -> JSON:
        if issubclass(tp, enum.Enum):
            return {"enum": [m.value for m in tp]}
        if dataclasses.is_dataclass(tp) or typing.is_typeddict(tp):
            return self._named(tp)
        pydantic = sys.modules.get("pydantic")
        if pydantic is not None and issubclass(tp, pydantic.BaseModel):
            return self._pydantic(tp)
        for base, schema in _SIMPLE.items():
            if isinstance(base, type) and issubclass(tp, base):
                return dict(schema)
        return {}

    def _named(self, tp: type) -> JSON:
        name = tp.__name__
        ref = {"$ref": f"#/components/schemas/{name}"}
        if name in self.components:
            return ref
        self.components[name] = {}  # placeholder: recursive models refer to themselves
        hints = typing.get_type_hints(tp)
        if dataclasses.is_dataclass(tp):
            fields = dataclasses.fields(tp)
            required = [
                f.name
                for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            ]
            names = [f.name for f in fields]
        else:
            names = list(hints)
            keys = typeddict_required(tp, typing.get_type_hints(tp, include_extras=True))
            required = [n for n in names if n in keys]
        schema: JSON = {
            "type": "object",
            "title": name,
            "properties": {n: self.schema(hints.get(n, Any)) for n in names},
        }
        if required:
            schema["required"] = required
        self.components[name] = schema
        return ref

    def _pydantic(self, tp: Any) -> JSON:
        schema = tp.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            self.components.setdefault(name, definition)
        self.components[tp.__name__] = schema
        return {"$ref": f"#/components/schemas/{tp.__name__}"}


def _doc(function: Callable[..., Any]) -> tuple[str | None, str | None]:
    doc = inspect.getdoc(function)
    if not doc:
        return None, None
    first, _, rest = doc.partition("\n")
    return first.strip(), rest.strip() or None


def _operation(route: OpenAPIRoute, builder: SchemaBuilder) -> JSON:
    summary, description = _doc(route.function)
    op: JSON = {"operationId": route.name, "summary": route.summary or summary or route.name}
    if description:
        op["description"] = description
    if route.tag:
        op["tags"] = [route.tag]
    params = _parameters(route, builder)
    if params:
        op["parameters"] = params
    body = _request_body(route.plan, builder)
    if body is not None:
        op["requestBody"] = body
    op["responses"] = _responses(route, builder)
    return op


def _parameters(route: OpenAPIRoute, builder: SchemaBuilder) -> list[JSON]:
    out: list[JSON] = []
    declared = {p.key: p for p in route.plan.parameters if p.source is Source.PATH}
    for path_param in route.pattern.params:
        bound = declared.get(path_param.name)
        schema = dict(path_param.converter.schema)
        if bound is not None and bound.convert is not None:
            schema = builder.schema(bound.annotation)
        if path_param.regex != path_param.converter.regex:
            schema["pattern"] = f"^{path_param.regex}$"
        out.append({"name": path_param.name, "in": "path", "required": True, "schema": schema})
    for p in route.plan.parameters:
        if p.source not in (Source.QUERY, Source.HEADER, Source.COOKIE):
            continue
        if p.whole_body:  # a model bound from the whole query string: one entry per field
            ref = builder.schema(p.annotation).get("$ref", "")
            model = builder.components.get(ref.rsplit("/", 1)[-1], {})
            required = set(model.get("required", ()))
            for name, schema in model.get("properties", {}).items():
                out.append(
                    {"name": name, "in": "query", "required": name in required, "schema": schema}
                )
            continue
        entry: JSON = {
            "name": p.key,
            "in": p.source.value,
            "required": p.required,
            "schema": builder.schema(p.annotation),
        }
        if p.default is not MISSING and _plain(p.default):
            entry["schema"]["default"] = p.default
        out.append(entry)
    return out


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _request_body(plan: BindingPlan, builder: SchemaBuilder) -> JSON | None:
    bodies = plan.body_params
    if not bodies:
        return None
    if len(bodies) == 1 and bodies[0].whole_body:
        p = bodies[0]
        if p.annotation is bytes:
            content = {"application/octet-stream": {"schema": {"type": "string"}}}
            return {"required": p.required, "content": content}
        schema = builder.schema(p.annotation)
        required = p.required
    else:
        schema = {
            "type": "object",
            "properties": {p.key: builder.schema(p.annotation) for p in bodies},
        }
        names = [p.key for p in bodies if p.required]
        if names:
            schema["required"] = names
        required = bool(names)
    content = {t: {"schema": schema} for t in ("application/json",
               "application/x-www-form-urlencoded")}  # fmt: skip
    return {"required": required, "content": content}


def _responses(route: OpenAPIRoute, builder: SchemaBuilder) -> JSON:
    try:
        returns = typing.get_type_hints(route.function).get("return", inspect.Parameter.empty)
    except NameError:
        returns = inspect.Parameter.empty
    out: JSON = {}
    if returns is None or returns is type(None):
        status = route.status_code or 204
        out[str(status)] = {"description": phrase(status)}
    else:
        status = route.status_code or 200
        entry: JSON = {"description": phrase(status)}
        content = _content(returns, builder)
        if content:
            entry["content"] = content
        out[str(status)] = entry
    if route.plan.needs_request and any(
        p.source not in (Source.REQUEST, Source.BEAN) for p in route.plan.parameters
    ):
        out["422"] = {
            "description": "Validation Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return out


def _content(returns: Any, builder: SchemaBuilder) -> JSON:
    plain = strip_annotated(returns)
    if plain is inspect.Parameter.empty or plain is Any:
        return {}
    if isinstance(plain, type) and issubclass(plain, Response):
        media = plain.media_type
        return {media: {}} if media else {}
    if plain is str:
        return {"text/plain": {"schema": {"type": "string"}}}
    if plain is bytes:
        return {"application/octet-stream": {"schema": {"type": "string"}}}
    if get_origin(plain) is tuple and not get_args(plain)[-1:] == (Ellipsis,):
        return {}  # (body, status) tuples: the body type is the first item
    return {"application/json": {"schema": builder.schema(plain)}}


_ERROR_SCHEMA: JSON = {
    "type": "object",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "required": ["code", "message"],
}


def openapi_document(
    routes: Iterable[OpenAPIRoute], *, title: str, version: str, root_path: str = ""
) -> JSON:
    """The OpenAPI 3.1 document for ``routes``.

    A ``root_path`` (the prefix a proxy serves the app under) becomes the one entry of
    ``servers``, so that tools calling the documented paths put it in front of them.
    """
    builder = SchemaBuilder()
    paths: dict[str, JSON] = {}
    for route in sorted(routes, key=lambda r: r.pattern.openapi_path):
        item = paths.setdefault(route.pattern.openapi_path, {})
        operation = _operation(route, builder)
        for method in route.methods:
            op = dict(operation)
            if len(route.methods) > 1:
                op["operationId"] = f"{route.name}_{method.lower()}"
            item[method.lower()] = op
    schemas = dict(sorted(builder.components.items()))
    schemas["Error"] = _ERROR_SCHEMA
    document: JSON = {"openapi": "3.1.0", "info": {"title": title, "version": version}}
    if root_path:
        document["servers"] = [{"url": root_path}]
    document["paths"] = paths
    document["components"] = {"schemas": schemas}
    return document
