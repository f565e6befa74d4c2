"""The request scope: one instance of each request bean per scope, kept in a ContextVar."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

from framework.container.definitions import BeanDefinition
from framework.container.errors import NoRequestScopeError
from framework.errors import describe

__all__ = ["RequestScope", "request_getter"]

log = logging.getLogger("swoop.container")


class RequestScope:
    """A request scope: ``with container.request_scope():`` or ``async with ...``.

    Servers open one per HTTP request, WebSocket message and TCP/RPC call. On exit, the
    request beans created in it are closed: ``aclose()`` (async exit only) or ``close()``.
    Scopes nest: an inner scope has its own beans.
    """

    __slots__ = ("_store", "_token", "_var")

    def __init__(self, var: ContextVar[dict[int, Any] | None]) -> None:
        self._var = var
        self._store: dict[int, Any] = {}
        self._token: Token[dict[int, Any] | None] | None = None

    def __enter__(self) -> RequestScope:
        self._token = self._var.set(self._store)
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._reset()
        for instance in reversed(self._store.values()):
            close = getattr(instance, "close", None)
            if callable(close) and not inspect.iscoroutinefunction(close):
                _guard(close)

    async def __aenter__(self) -> RequestScope:
        return self.__enter__()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._reset()
        for instance in reversed(self._store.values()):
            closer = getattr(instance, "aclose", None) or getattr(instance, "close", None)
            if not callable(closer):
                continue
            try:
                result = closer()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("closing request bean %r failed", instance)

    def _reset(self) -> None:
        if self._token is not None:
            self._var.reset(self._token)
            self._token = None


def _guard(close: Callable[[], Any]) -> None:
    try:
        close()
    except Exception:
        log.exception("closing request bean failed")


def request_getter(
    var: ContextVar[dict[int, Any] | None], definition: BeanDefinition, create: Callable[[], Any]
) -> Callable[[], Any]:
    """The getter of a request bean: the scope's instance, created on first use."""
    index, current = definition.index, var.get

    def get() -> Any:
        store = current()
        if store is None:
            raise NoRequestScopeError(
                describe(
                    [
                        f"request bean {definition.label} was resolved outside a request scope",
                        f"declared at: {definition.location}",
                        "fix: resolve it while serving a request, or open one with "
                        "`with app.container.request_scope():`",
                    ]
                )
            )
        try:
            return store[index]
        except KeyError:
            instance = store[index] = create()
            return instance

    return get
