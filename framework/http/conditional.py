"""Conditional and range requests, sans-IO: which status a file's response gets (RFC 9110).

:func:`select` reads the request's ``If-Match``, ``If-Unmodified-Since``, ``If-None-Match``,
``If-Modified-Since``, ``Range`` and ``If-Range`` against a representation's validators (its
``ETag`` and ``Last-Modified``) and size, and answers 200 (the whole body), 412 (a
precondition failed: the client's copy is not the current one), 304 (the client's copy is
current), 206 (one byte range) or 416 (no requested range lies inside the body). The order is
RFC 9110 §13.2.2: ``If-Match`` first, ``If-Unmodified-Since`` only without it, then
``If-None-Match``, ``If-Modified-Since`` only without that, then ``Range``.

Malformed headers are ignored, as the RFC asks: an unparsable ``Range`` or date gives the whole
body (a server that guessed would send the wrong bytes), never an error. Unsatisfiable ranges
in a list are dropped (as Apache does); when more than one range is left, the whole body is
sent, which the RFC allows (``multipart/byteranges`` is not worth its cost: browsers, media
players and download tools ask for one range). An empty body ignores ``Range``: no
``Content-Range`` can describe a part of nothing.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass

__all__ = ["Selection", "etag_matches", "parse_http_date", "parse_ranges", "select"]

#: One entity-tag in a list: ``"xyz"`` or ``W/"xyz"`` (the opaque part may hold commas).
_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')
_GET_HEAD = ("GET", "HEAD")


@dataclass(frozen=True, slots=True)
class Selection:
    """What to send: ``status`` and, for 200 and 206, the bytes ``start`` to ``end``
    (inclusive; ``end`` is ``-1`` for an empty body)."""

    status: int
    start: int = 0
    end: int = -1


def parse_http_date(value: str) -> int | None:
    """An HTTP date (IMF-fixdate, or the obsolete asctime form) as a Unix time, or ``None``
    when ``value`` is not one."""
    try:
        parsed = email.utils.parsedate_tz(value)
        return None if parsed is None else int(email.utils.mktime_tz(parsed))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def etag_matches(header: str, etag: str, *, weak: bool) -> bool:
    """Whether the entity-tag list ``header`` (``*``, or ``"a", W/"b"``) names ``etag``.

    ``weak=True`` is the weak comparison of ``If-None-Match`` (``W/`` prefixes are ignored);
    ``weak=False`` is the strong one of ``If-Range`` (a weak tag on either side never matches).
    ``*`` matches any current representation.
    """
    if header.strip() == "*":
        return True
    ours = _ENTITY_TAG.fullmatch(etag)
    if ours is None:
        return False
    if not weak and ours.group(1):
        return False
    for found in _ENTITY_TAG.finditer(header):
        if found.group(2) == ours.group(2) and (weak or not found.group(1)):
            return True
    return False


def _digits(text: str) -> int | None:
    # str.isdigit() also accepts "²" and other Unicode digits, which int() then refuses
    return int(text) if text.isascii() and text.isdigit() else None


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """The satisfiable ranges of a ``Range: bytes=...`` header, clipped to ``size``, as
    inclusive ``(start, end)`` pairs.

    ``None`` means the header must be ignored (another unit, or a syntax error anywhere in
    it); an empty list means it is valid but no range overlaps the body (416).
    """
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int]] = []
    valid = False
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue  # empty list elements are allowed (RFC 9110 §5.6.1)
        first, dash, last = part.partition("-")
        if not dash:
            return None
        if not first:  # "-n": the last n bytes
            suffix = _digits(last)
            if suffix is None:
                return None
            if suffix > 0:
                ranges.append((max(size - suffix, 0), size - 1))
        else:  # "a-b" or "a-"
            start = _digits(first)
            end = _digits(last) if last else start
            if start is None or end is None or end < start:
                return None
            if start < size:
                ranges.append((start, min(end, size - 1) if last else size - 1))
        valid = True
    return ranges if valid else None


def _if_range_holds(value: str, etag: str, last_modified: int) -> bool:
    """RFC 9110 §13.1.5: an entity-tag must match strongly, a date exactly."""
    value = value.strip()
    if value.startswith(('"', "W/")):
        return _ENTITY_TAG.fullmatch(value) is not None and etag_matches(value, etag, weak=False)
    return parse_http_date(value) == last_modified


def select(
    method: str,
    *,
    etag: str,
    last_modified: int,
    size: int,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    range: str | None = None,
    if_range: str | None = None,
    if_match: str | None = None,
    if_unmodified_since: str | None = None,
) -> Selection:
    """The answer to a ``GET``/``HEAD`` for a representation of ``size`` bytes.

    Args:
        method: the request method; other methods always get the whole body (200).
        etag: the representation's (strong) ``ETag``, quotes included.
        last_modified: its ``Last-Modified`` as a Unix time in whole seconds.
        size: its length in bytes.
        if_none_match, if_modified_since, range, if_range, if_match, if_unmodified_since:
            the request's header values (``None`` when absent; repeated headers joined with
            ``", "``).
    """
    whole = Selection(200, 0, size - 1)
    if method not in _GET_HEAD:
        return whole
    if if_match is not None:
        # strong comparison (RFC 9110 §13.1.1): a weak tag never matches; "*" always does
        if not etag_matches(if_match, etag, weak=False):
            return Selection(412)
    elif if_unmodified_since is not None:
        since = parse_http_date(if_unmodified_since)
        if since is not None and last_modified > since:
            return Selection(412)
    if if_none_match is not None:
        if etag_matches(if_none_match, etag, weak=True):
            return Selection(304)
    elif if_modified_since is not None:
        since = parse_http_date(if_modified_since)
        if since is not None and last_modified <= since:
            return Selection(304)
    # Range is defined for GET only (RFC 9110 §14.2); a HEAD answers as a full GET would
    if range is None or method != "GET" or size == 0:
        return whole
    if if_range is not None and not _if_range_holds(if_range, etag, last_modified):
        return whole
    ranges = parse_ranges(range, size)
    if ranges is None or len(ranges) > 1:
        return whole
    if not ranges:
        return Selection(416)
    start, end = ranges[0]
    return Selection(206, start, end)
