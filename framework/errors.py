"""The base of every error Swoop raises.

Messages follow one shape (STYLE.md §5): what happened, where, and how to fix it. Boot errors
carry the resolution chain; every line after the first is indented by two spaces.
"""

from __future__ import annotations

__all__ = ["BootError", "FrameworkError", "FrozenError"]


class FrameworkError(Exception):
    """Base class of every exception raised by the framework."""


class BootError(FrameworkError):
    """The application could not be booted: a scan, validation or build step failed."""


class FrozenError(FrameworkError):
    """Something tried to change an application (or its container) after boot froze it."""


def describe(lines: list[str]) -> str:
    """Join a headline and its detail lines into the multi-line message shape we use."""
    head, *rest = lines
    return "\n".join([head, *(f"  {line}" for line in rest)])
