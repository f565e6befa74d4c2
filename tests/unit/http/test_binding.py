"""Binding plans: the source of each parameter is decided at boot; binding converts and
collects every error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

import pytest

from framework.container.marks import Named
from framework.http import Body, Cookie, Header, HTTPException, Query, Request
from framework.http.binding import BindingPlan, Source, plan
from framework.http.errors import RequestValidationError
from framework.http.patterns import parse_pattern
from framework.http.routing import RouteError

# Marked here as well as by tests/conftest.py: parametrized async tests need the mark at
# collection time.
pytestmark = pytest.mark.anyio


class Clock:
    pass


CLOCK = Clock()


@dataclass
class Item:
    name: str
    price: float


class Filters(TypedDict):
    q: str
    limit: int


def beans(tp: Any) -> Callable[[], Any] | None:
    if tp is Clock or (getattr(tp, "__metadata__", None) and Named("clock") in tp.__metadata__):
        return lambda: CLOCK
    return None


def plan_of(fn: Callable[..., Any], path: str = "/") -> BindingPlan:
    return plan(fn, path_params=parse_pattern(path).params, bean_getter=beans, where="t.py:1")


def request(
    *,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    max_body_size: int = 1024,
    chunks: list[bytes] | None = None,
) -> Request:
    raw = list(headers or [])
    if content_type is not None:
        raw.append((b"content-type", content_type.encode()))
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in (chunks or [])] + [
        {"type": "http.request", "body": body, "more_body": False}
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": query, "headers": raw}
    return Request(scope, receive, max_body_size=max_body_size)


def sources(p: BindingPlan) -> dict[str, Source]:
    return {param.name: param.source for param in p.parameters}


def test_sources_are_decided_at_boot() -> None:
    def handler(
        id: int,
        request: Request,
        clock: Clock,
        named: Annotated[Clock, Named("clock")],
        item: Item,
        q: str,
        token: Annotated[str, Header()],
        session: Annotated[str, Cookie()],
        forced: Annotated[str, Query()],
    ) -> None: ...

    p = plan_of(handler, "/{id:int}")
    assert sources(p) == {
        "id": Source.PATH,
        "request": Source.REQUEST,
        "clock": Source.BEAN,
        "named": Source.BEAN,
        "item": Source.BODY,
        "q": Source.QUERY,
        "token": Source.HEADER,
        "session": Source.COOKIE,
        "forced": Source.QUERY,
    }
    assert p.needs_request and not p.passthrough


def test_path_only_plan_passes_router_params_through() -> None:
    async def show(id: int, name: str) -> None: ...

    p = plan_of(show, "/{id:int}/{name}")
    assert p.passthrough and not p.needs_request
    converted = plan_of(show, "/{id}/{name}")  # str converter, int annotation: convert
    assert not converted.passthrough


async def test_bind_query_header_cookie_and_defaults() -> None:
    def handler(
        limit: int,
        tags: Annotated[list[str], Query()],
        x_token: Annotated[str, Header()],
        session: Annotated[str, Cookie()],
        page: int = 1,
        missing: str | None = None,
    ) -> None: ...

    req = request(
        query=b"limit=5&tags=a&tags=b%20c",
        headers=[(b"x-token", b"t"), (b"cookie", b"session=s1; other=2")],
    )
    kwargs = await plan_of(handler).bind(req, {})
    assert kwargs == {"limit": 5, "tags": ["a", "b c"], "x_token": "t", "session": "s1"}


async def test_bind_reports_every_bad_field() -> None:
    def handler(limit: int, flag: bool, token: Annotated[str, Header()], item: Item) -> None: ...

    with pytest.raises(RequestValidationError) as info:
        await plan_of(handler).bind(
            request(
                query=b"limit=x&flag=maybe",
                body=b'{"price": "free"}',
                content_type="application/json",
            ),
            {},
        )
    assert [(e.loc, e.message) for e in info.value.errors] == [
        (("query", "limit"), "expected an integer, got 'x'"),
        (("query", "flag"), "expected true or false, got 'maybe'"),
        (("header", "token"), "field required"),
        (("body", "name"), "field required"),
        (("body", "price"), "expected a number, got 'free'"),
    ]
    assert info.value.status_code == 422


async def test_path_conversion_errors() -> None:
    def handler(id: int) -> None: ...

    with pytest.raises(RequestValidationError) as info:
        await plan_of(handler, "/{id}").bind(None, {"id": "abc"})
    assert info.value.errors[0].loc == ("path", "id")


async def test_body_json_form_and_embedded() -> None:
    def whole(item: Item) -> None: ...

    def embedded(name: Annotated[str, Body()], count: Annotated[int, Body()]) -> None: ...

    json_req = request(body=b'{"name": "a", "price": 2}', content_type="application/json")
    assert await plan_of(whole).bind(json_req, {}) == {"item": Item("a", 2.0)}
    form_req = request(body=b"name=a&price=2.5", content_type="application/x-www-form-urlencoded")
    assert await plan_of(whole).bind(form_req, {}) == {"item": Item("a", 2.5)}
    body = b'{"name": "n", "count": 3}'
    assert await plan_of(embedded).bind(
        request(body=body, content_type="application/json"), {}
    ) == {
        "name": "n",
        "count": 3,
    }
    untyped = request(body=b'{"name": "a", "price": 1}')  # no Content-Type: JSON is assumed
    assert await plan_of(whole).bind(untyped, {}) == {"item": Item("a", 1.0)}


async def test_query_model() -> None:
    def handler(filters: Annotated[Filters, Query()]) -> None: ...

    kwargs = await plan_of(handler).bind(request(query=b"q=x&limit=3"), {})
    assert kwargs == {"filters": {"q": "x", "limit": 3}}
    with pytest.raises(RequestValidationError) as info:
        await plan_of(handler).bind(request(query=b"limit=many"), {})
    assert [e.loc for e in info.value.errors] == [("query", "q"), ("query", "limit")]


async def test_raw_bytes_body() -> None:
    def handler(data: Annotated[bytes, Body()]) -> None: ...

    req = request(body=b"\x00\x01", content_type="application/octet-stream")
    assert await plan_of(handler).bind(req, {}) == {"data": b"\x00\x01"}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"{bad", "application/json", 400, "request body is not valid JSON"),
        (b"x", "text/plain", 415, "unsupported Content-Type 'text/plain'"),
        (b"x" * 2000, "application/json", 413, "larger than the limit of 1024 bytes"),
    ],
)
async def test_body_errors(body: bytes, content_type: str, status: int, message: str) -> None:
    def handler(item: Item) -> None: ...

    with pytest.raises(HTTPException) as info:
        await plan_of(handler).bind(request(body=body, content_type=content_type), {})
    assert info.value.status_code == status
    assert message in info.value.message


async def test_body_limit_counts_chunks_and_content_length() -> None:
    def handler(item: Item) -> None: ...

    chunked = request(chunks=[b"x" * 600, b"x" * 600], content_type="application/json")
    with pytest.raises(HTTPException) as info:
        await plan_of(handler).bind(chunked, {})
    assert info.value.status_code == 413
    declared = request(headers=[(b"content-length", b"99999")], content_type="application/json")
    with pytest.raises(HTTPException) as info:
        await plan_of(handler).bind(declared, {})
    assert info.value.status_code == 413


async def test_missing_body_is_a_required_field() -> None:
    def handler(item: Item) -> None: ...

    with pytest.raises(RequestValidationError) as info:
        await plan_of(handler).bind(request(content_type="application/json"), {})
    assert info.value.errors[0].loc == ("body",)


def test_unresolvable_hint_is_a_boot_error() -> None:
    def handler(x: Undefined) -> None:  # type: ignore[name-defined]  # noqa: F821
        ...

    with pytest.raises(RouteError, match="cannot read the type hints"):
        plan_of(handler)


def test_positional_only_is_a_boot_error() -> None:
    def handler(x: int, /) -> None: ...

    with pytest.raises(RouteError, match="positional-only"):
        plan_of(handler)
