"""Conditional and range request selection (framework.http.conditional), sans-IO, and the
static files answering them before middleware sees the response."""

from __future__ import annotations

import email.utils
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.http.conditional import (
    Selection,
    etag_matches,
    parse_http_date,
    parse_ranges,
    select,
)
from framework.http.headers import Headers
from framework.http.static import StaticFiles

ETAG = '"18b-400"'
MTIME = 1_700_000_000
DATE = email.utils.formatdate(MTIME, usegmt=True)


def choose(method: str = "GET", size: int = 1024, **headers: str) -> Selection:
    return select(method, etag=ETAG, last_modified=MTIME, size=size, **headers)


@pytest.mark.parametrize(
    ("header", "weak", "expected"),
    [
        (ETAG, True, True),
        (ETAG, False, True),
        (f"W/{ETAG}", True, True),
        (f"W/{ETAG}", False, False),
        (f'"a", {ETAG}', True, True),
        ('"a,b", "c"', True, False),
        (" * ", True, True),
        ("18b-400", True, False),  # unquoted: not an entity-tag
        ("", True, False),
    ],
)
def test_etag_matches(header: str, weak: bool, expected: bool) -> None:
    assert etag_matches(header, ETAG, weak=weak) is expected


def test_weak_own_tag_never_matches_strongly() -> None:
    assert etag_matches('W/"x"', 'W/"x"', weak=True)
    assert not etag_matches('W/"x"', 'W/"x"', weak=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (DATE, MTIME),
        ("Tue, 14 Nov 2023 22:13:20 GMT", MTIME),
        ("Tue Nov 14 22:13:20 2023", MTIME),  # asctime
        ("yesterday", None),
        ("", None),
    ],
)
def test_parse_http_date(value: str, expected: int | None) -> None:
    assert parse_http_date(value) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", [(0, 9)]),
        ("bytes=10-", [(10, 99)]),
        ("bytes=-10", [(90, 99)]),
        ("bytes=-1000", [(0, 99)]),
        ("bytes=90-1000", [(90, 99)]),
        ("bytes=0-0,-1", [(0, 0), (99, 99)]),
        ("bytes=, 5-6 ,", [(5, 6)]),
        ("bytes=100-", []),
        ("bytes=-0", []),
        ("bytes=5-2", None),
        ("bytes=", None),
        ("bytes=a-b", None),
        ("bytes=²-3", None),
        ("bytes=1-2-3", None),
        ("bytes=5", None),
        ("pages=0-1", None),
        ("0-1", None),
    ],
)
def test_parse_ranges(header: str, expected: list[tuple[int, int]] | None) -> None:
    assert parse_ranges(header, 100) == expected


@given(st.text(), st.integers(min_value=0, max_value=10_000))
def test_any_range_header_parses_inside_the_body_or_is_ignored(header: str, size: int) -> None:
    ranges = parse_ranges(header, size)
    if ranges is not None:
        assert all(0 <= start <= end < size for start, end in ranges)


@given(st.text())
def test_any_date_parses_or_is_none(value: str) -> None:
    assert parse_http_date(value) is None or isinstance(parse_http_date(value), int)


@given(
    st.sampled_from(["GET", "HEAD", "POST"]),
    st.dictionaries(
        st.sampled_from(
            [
                "if_none_match",
                "if_modified_since",
                "range",
                "if_range",
                "if_match",
                "if_unmodified_since",
            ]
        ),
        st.text(),
    ),
)
def test_any_headers_give_a_known_status(method: str, headers: dict[str, str]) -> None:
    selection = choose(method, **headers)
    assert selection.status in (200, 206, 304, 412, 416)
    if selection.status in (200, 206):
        assert 0 <= selection.start <= selection.end < 1024


def test_select_order() -> None:
    assert choose(if_none_match=ETAG) == Selection(304)
    assert choose("HEAD", if_none_match="*") == Selection(304)
    assert choose(if_modified_since=DATE) == Selection(304)
    assert choose(if_none_match='"x"', if_modified_since=DATE).status == 200
    assert choose("POST", if_none_match=ETAG) == Selection(200, 0, 1023)
    assert choose(range="bytes=0-1") == Selection(206, 0, 1)
    assert choose("HEAD", range="bytes=0-1").status == 200
    assert choose(range="bytes=0-1", if_range=DATE) == Selection(206, 0, 1)
    assert choose(range="bytes=0-1", if_range='"x"').status == 200
    assert choose(range="bytes=0-1,3-4").status == 200
    assert choose(range="bytes=2000-") == Selection(416)
    assert choose(size=0, range="bytes=-5") == Selection(200, 0, -1)
    # a 304 wins over a Range: the client's copy is current
    assert choose(if_none_match=ETAG, range="bytes=0-1") == Selection(304)


EARLIER = email.utils.formatdate(MTIME - 60, usegmt=True)


def test_preconditions_come_first() -> None:
    # If-Match compares strongly: the current tag, a list holding it, or * pass
    assert choose(if_match=ETAG, range="bytes=0-1") == Selection(206, 0, 1)
    assert choose(if_match=f'"x", {ETAG}').status == 200
    assert choose(if_match="*").status == 200
    assert choose(if_match='"x"') == Selection(412)
    assert choose(if_match=f"W/{ETAG}") == Selection(412)
    assert choose("HEAD", if_match='"x"') == Selection(412)
    # it is checked before If-None-Match and Range, and replaces If-Unmodified-Since
    assert choose(if_match='"x"', if_none_match=ETAG, range="bytes=0-1") == Selection(412)
    assert choose(if_match=ETAG, if_unmodified_since=EARLIER).status == 200
    # If-Unmodified-Since: 412 when the file changed after that date; bad dates are ignored
    assert choose(if_unmodified_since=EARLIER) == Selection(412)
    assert choose(if_unmodified_since=DATE).status == 200
    assert choose(if_unmodified_since="yesterday").status == 200
    assert choose(if_unmodified_since=DATE, if_none_match=ETAG) == Selection(304)
    # only GET and HEAD are evaluated (a handler's response to a POST is not a file to check)
    assert choose("POST", if_match='"x"').status == 200


@pytest.fixture
def public(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_bytes(b"0123456789")
    os.utime(tmp_path / "a.txt", (MTIME, MTIME))
    return tmp_path


def headers(**values: str) -> Headers:
    return Headers([(k.replace("_", "-").encode(), v.encode()) for k, v in values.items()])


def test_static_response_is_evaluated_up_front(public: Path) -> None:
    static = StaticFiles(public)
    plain = static.response("/a.txt")
    assert plain is not None and plain.status_code == 200
    etag = plain.headers["etag"]
    cached = static.response("/a.txt", "GET", headers(if_none_match=etag))
    assert cached is not None and cached.status_code == 304
    assert "content-length" not in cached.headers and "content-type" not in cached.headers
    assert cached.headers["etag"] == etag
    part = static.response("/a.txt", "GET", headers(range="bytes=2-4"))
    assert part is not None and part.status_code == 206
    assert (part.headers["content-range"], part.headers["content-length"]) == ("bytes 2-4/10", "3")
    none = static.response("/a.txt", "GET", headers(range="bytes=10-"))
    assert none is not None and none.status_code == 416
    assert none.headers["content-range"] == "bytes */10" and "content-type" not in none.headers
    assert static.response("/missing", "GET", headers(if_none_match="*")) is None
    stale = static.response("/a.txt", "GET", headers(if_match='"older"'))
    assert stale is not None and stale.status_code == 412
    assert stale.headers["content-length"] == "0" and "content-type" not in stale.headers
    assert "content-range" not in stale.headers and stale.headers["etag"] == etag
