"""The sans-IO router: patterns, converters, specificity, misses, reversal."""

from __future__ import annotations

import uuid
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.http.patterns import parse_pattern
from framework.http.routing import (
    DuplicateRouteError,
    MissKind,
    Route,
    RouteNotFoundError,
    Router,
)


def route(path: str, *methods: str, name: str | None = None, **params: str) -> Route[str]:
    methods = methods or ("GET",)
    label = name or f"{'/'.join(methods)} {path}"
    return Route(parse_pattern(path, params), tuple(methods), label, label, "test.py:1")


def router(*routes: Route[str]) -> Router[str]:
    return Router(routes, head=lambda endpoint: f"HEAD({endpoint})")


# -- matching -----------------------------------------------------------------------------


def test_static_and_converters() -> None:
    r = router(
        route("/users"),
        route("/users/{id:int}"),
        route("/price/{p:float}"),
        route("/files/{rest:path}"),
        route("/things/{u:uuid}"),
        route("/names/{name}"),
    )
    assert r.lookup("GET", "/users") == ("GET /users", {})
    assert r.lookup("GET", "/users/42") == ("GET /users/{id:int}", {"id": 42})
    assert r.lookup("GET", "/price/1.5") == ("GET /price/{p:float}", {"p": 1.5})
    assert r.lookup("GET", "/files/a/b/c.txt") == ("GET /files/{rest:path}", {"rest": "a/b/c.txt"})
    u = uuid.uuid4()
    assert r.lookup("GET", f"/things/{u}") == ("GET /things/{u:uuid}", {"u": u})
    assert r.lookup("GET", "/names/ada") == ("GET /names/{name}", {"name": "ada"})
    assert r.lookup("GET", "/users/abc") is None
    assert r.lookup("GET", "/names/a/b") is None


def test_specificity_beats_declaration_order() -> None:
    r = router(
        route("/u/{name}"),
        route("/u/{id:int}"),
        route("/u/me"),
        route("/u/{rest:path}"),
    )
    assert r.lookup("GET", "/u/me")[0] == "GET /u/me"  # type: ignore[index]
    assert r.lookup("GET", "/u/7")[0] == "GET /u/{id:int}"  # type: ignore[index]
    assert r.lookup("GET", "/u/ada")[0] == "GET /u/{name}"  # type: ignore[index]
    assert r.lookup("GET", "/u/a/b")[0] == "GET /u/{rest:path}"  # type: ignore[index]


def test_custom_regex_params() -> None:
    r = router(route("/u/{id}", id=r"\d{1,3}"), route("/u/{slug}", name="slug"))
    assert r.lookup("GET", "/u/123") == ("GET /u/{id}", {"id": "123"})
    assert r.lookup("GET", "/u/1234") == ("slug", {"slug": "1234"})


def test_same_path_other_pattern_allows_method() -> None:
    r = router(route("/x/{id:int}", "GET"), route("/x/{name}", "POST"))
    assert r.lookup("POST", "/x/5") == ("POST /x/{name}", {"name": "5"})
    assert r.lookup("GET", "/x/5") == ("GET /x/{id:int}", {"id": 5})


def test_automatic_head_only_for_get() -> None:
    r = router(route("/a", "GET"), route("/b", "GET", "HEAD"), route("/c", "POST"))
    assert r.lookup("HEAD", "/a") == ("HEAD(GET /a)", {})
    assert r.lookup("HEAD", "/b") == ("GET/HEAD /b", {})
    assert r.lookup("HEAD", "/c") is None


def test_misses() -> None:
    r = router(route("/a", "GET", "POST"), route("/d/{id:int}", "DELETE"))
    assert r.miss("PUT", "/a").kind is MissKind.METHOD_NOT_ALLOWED
    assert r.miss("PUT", "/a").allow == ("GET", "HEAD", "OPTIONS", "POST")
    assert r.miss("OPTIONS", "/a").kind is MissKind.OPTIONS
    assert r.miss("GET", "/d/3").allow == ("DELETE", "OPTIONS")
    assert r.miss("GET", "/a/").kind is MissKind.REDIRECT
    assert r.miss("GET", "/a/").location == "/a"
    assert r.miss("GET", "/nope").kind is MissKind.NOT_FOUND
    assert r.miss("GET", "/").kind is MissKind.NOT_FOUND


def test_duplicates_name_both_handlers() -> None:
    first = Route(parse_pattern("/u/{id}"), ("GET",), "a", "A.show", "app/a.py:3")
    second = Route(parse_pattern("/u/{name}"), ("GET", "POST"), "b", "B.show", "app/b.py:9")
    with pytest.raises(DuplicateRouteError) as info:
        Router([first, second])
    message = str(info.value)
    assert "duplicate route GET /u/{name}" in message
    assert "A.show (app/a.py:3)" in message and "B.show (app/b.py:9)" in message
    assert "fix:" in message


def test_different_converters_are_not_duplicates() -> None:
    Router([route("/u/{id:int}"), route("/u/{name}")])


def test_duplicate_names() -> None:
    with pytest.raises(DuplicateRouteError, match="duplicate route name 'same'"):
        Router([route("/a", name="same"), route("/b", name="same")])


# -- reversal -----------------------------------------------------------------------------


def test_url_for() -> None:
    r = router(route("/u/{id:int}/f/{rest:path}", name="file"))
    assert r.url_for("file", id=3, rest="a b/c") == "/u/3/f/a%20b/c"
    with pytest.raises(RouteNotFoundError):
        r.url_for("nope")
    with pytest.raises(ValueError, match="missing"):
        r.url_for("file", id=3)
    with pytest.raises(ValueError):
        r.url_for("file", id=-1, rest="x")


segment_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), min_size=1
)
path_text = st.lists(segment_text, min_size=1, max_size=4).map("/".join)


@settings(max_examples=300)
@given(
    name=segment_text,
    number=st.integers(min_value=0, max_value=10**30),
    price=st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    ident=st.uuids(),
    rest=path_text,
)
def test_url_for_round_trips(
    name: str, number: int, price: float, ident: uuid.UUID, rest: str
) -> None:
    r = router(route("/a/{name}/{number:int}/{price:float}/{ident:uuid}/{rest:path}", name="r"))
    values = {"name": name, "number": number, "price": price, "ident": ident, "rest": rest}
    path = r.url_for("r", **values)
    assert path.isascii()
    assert r.lookup("GET", unquote(path)) == ("r", values)


@settings(max_examples=500)
@given(method=st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "BREW"]), path=st.text())
def test_arbitrary_paths_match_or_miss(method: str, path: str) -> None:
    r = router(
        route("/"),
        route("/u/{id:int}", "GET", "PUT"),
        route("/u/{name}/x", "POST"),
        route("/f/{p:path}"),
        route("/t/{u:uuid}", "DELETE"),
        route("/n/{v:float}"),
        route("/r/{code}", code=r"[a-z]{2}\d*"),
    )
    found = r.lookup(method, path)
    if found is None:
        assert r.miss(method, path).kind in MissKind
    else:
        endpoint, params = found
        assert isinstance(endpoint, str) and isinstance(params, dict)
