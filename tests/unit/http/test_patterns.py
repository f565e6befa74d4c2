"""Route path patterns: parsing, joining, and errors with what to fix."""

from __future__ import annotations

import pytest

from framework.http.patterns import join_paths, parse_pattern


@pytest.mark.parametrize(
    ("prefix", "path", "joined"),
    [
        ("/user", "/{id}", "/user/{id}"),
        ("/user", "{id}", "/user/{id}"),
        ("/user/", "/", "/user"),
        ("/user", "", "/user"),
        ("", "/", "/"),
        ("/", "", "/"),
        ("/a", "b/c/", "/a/b/c"),
    ],
)
def test_join_paths(prefix: str, path: str, joined: str) -> None:
    assert join_paths(prefix, path) == joined


def test_parse_pattern_parts_and_openapi_path() -> None:
    pattern = parse_pattern("/users/{id:int}/files/{rest:path}")
    assert [p.name for p in pattern.params] == ["id", "rest"]
    assert [p.converter.name for p in pattern.params] == ["int", "path"]
    assert pattern.openapi_path == "/users/{id}/files/{rest}"
    assert not pattern.is_static
    assert parse_pattern("/users").is_static


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/u/{id:nope}", {}, "unknown converter 'nope'"),
        ("/u/{id}/{id}", {}, "twice"),
        ("/u/{1x}", {}, "not a Python identifier"),
        ("/u/{id", {}, "unbalanced"),
        ("/u/id}", {}, "unbalanced"),
        ("/u/{id}", {"other": r"\d+"}, "does not declare"),
        ("/u/{id}", {"id": "(unclosed"}, "invalid"),
    ],
)
def test_parse_pattern_errors(path: str, params: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pattern(path, params)
