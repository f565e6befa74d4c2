"""Middleware: the protocol, resolving declared classes, and building chains at boot.

A middleware is a bean with ``async def process(self, request, call_next) -> Response``.
Order, as Swoft documents it: global middleware (config ``http.middlewares``) run outermost,
then the controller's ``@middleware``, then the method's; within one level, in the order they
are written (a decorator's arguments left to right, stacked decorators top to bottom).

Each route's chain is composed once at boot; a route without middleware calls its handler
directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from framework import marks
from framework.errors import BootError, describe
from framework.http.marks import MiddlewareMark
from framework.http.request import Request
from framework.http.responses import Response
from framework.imports import import_string

__all__ = [
    "CallNext",
    "Middleware",
    "MiddlewareError",
    "compose",
    "declared_middleware",
    "resolve_middleware",
]

CallNext = Callable[[Request], Awaitable[Response]]


class Middleware(Protocol):
    """What ``@middleware`` and ``http.middlewares`` accept (as a bean class)."""

    async def process(self, request: Request, call_next: CallNext) -> Response:
        """Return a response: usually ``await call_next(request)``, possibly changed."""
        ...


class MiddlewareError(BootError):
    """A declared middleware cannot be imported or has no ``process`` method."""


def resolve_middleware(spec: type | str, where: str) -> type:
    """The class for ``spec``: a class, or ``"package.module:Class"`` (``.Class`` works too).

    Raises:
        MiddlewareError: the module or class cannot be found, or it has no ``process``.
    """
    if isinstance(spec, str):
        try:
            found = import_string(spec)
        except ImportError as exc:
            raise MiddlewareError(
                describe(
                    [
                        f"cannot import middleware {spec!r}: {exc}",
                        f"declared at: {where}",
                        "fix: write it as 'package.module:ClassName', importable from the app",
                    ]
                )
            ) from exc
    else:
        found = spec
    if not isinstance(found, type) or not callable(getattr(found, "process", None)):
        raise MiddlewareError(
            describe(
                [
                    f"middleware {spec!r} is not a class with a process() method",
                    f"declared at: {where}",
                    "fix: define `async def process(self, request, call_next) -> Response`",
                ]
            )
        )
    return found


def declared_middleware(target: object) -> list[type | str]:
    """The ``@middleware`` classes on a class or function, outermost first."""
    declared: list[type | str] = []
    # marks are stored innermost (lowest decorator) first; written order is top first
    for mark in reversed(marks.find(target, MiddlewareMark)):
        declared.extend(mark.classes)
    return declared


def compose(
    processes: Sequence[Callable[[Request, CallNext], Awaitable[Response]]],
    terminal: CallNext,
) -> CallNext:
    """``processes[0]`` outermost around ... around ``terminal``."""
    handler = terminal
    for process in reversed(processes):
        handler = _link(process, handler)
    return handler


def _link(
    process: Callable[[Request, CallNext], Awaitable[Response]], call_next: CallNext
) -> CallNext:
    def call(request: Request) -> Awaitable[Response]:
        return process(request, call_next)

    return call


def unique(classes: Iterable[type]) -> list[type]:
    """Classes in first-seen order, without repeats (one bean per middleware class)."""
    return list(dict.fromkeys(classes))
