"""Per-route request handling, specialised at boot for speed.

An endpoint is ``async run(scope, receive, send, path_params)``. :func:`build_endpoint` picks
the leanest shape for the route: no :class:`Request` object unless binding or middleware need
one, the router's parameter dict passed straight through as keyword arguments when it already
is exactly the handler's arguments, dict/list/str results sent without building a
:class:`Response`, and no middleware chain at all when the route has none.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from framework.blank import blank_of
from framework.http.binding import BindingPlan
from framework.http.errors import ExceptionHandlers
from framework.http.middleware import CallNext, compose
from framework.http.request import Request, body_too_large
from framework.http.responses import (
    JSON_HEADER,
    LENGTHS,
    SMALL,
    TEXT_HEADER,
    Renderer,
    Response,
    dumps,
)

__all__ = ["Run", "build_endpoint", "head_of"]

log = logging.getLogger("swoop.http")

Run = Callable[[dict[str, Any], Any, Any, dict[str, Any]], Awaitable[None]]
Process = Callable[[Request, CallNext], Awaitable[Response]]
Invoke = Callable[[Request | None, dict[str, Any]], Any]

_SEND_WHOLE = Response.__call__
_new_request = blank_of(Request)


def _invoker(handler: Callable[..., Any], plan: BindingPlan, is_async: bool) -> tuple[Invoke, bool]:
    """How to call the handler, and whether the call's result must be awaited."""
    if not plan.parameters:
        return (lambda request, params: handler()), is_async
    if plan.passthrough:
        return (lambda request, params: handler(**params)), is_async
    bind = plan.bind

    async def invoke(request: Request | None, params: dict[str, Any]) -> Any:
        result = handler(**await bind(request, params))
        return await result if is_async else result

    return invoke, True


async def _render(result: Any, renderer: Renderer) -> Response:
    try:
        return renderer(result)
    except TypeError:
        if not inspect.isawaitable(result):
            raise
    # a sync wrapper (an aspect, a decorator) around an async method returned a coroutine
    return renderer(await result)


def build_endpoint(
    handler: Callable[..., Any],
    *,
    is_async: bool,
    plan: BindingPlan,
    renderer: Renderer,
    processes: Sequence[Process],
    errors: ExceptionHandlers,
    max_body_size: int,
) -> Run:
    """The ``run`` function of one route (see the module docs)."""
    invoke, awaits = _invoker(handler, plan, is_async)
    if processes:
        direct = handler if not plan.parameters else None
        return _chained(invoke, direct, awaits, renderer, processes, errors, max_body_size)
    if plan.passthrough:  # no Request, no binding: call the handler inline
        return _direct(handler, None, is_async, False, renderer, errors, max_body_size)
    return _direct(handler, invoke, awaits, plan.needs_request, renderer, errors, max_body_size)


def _direct(
    handler: Callable[..., Any],
    invoke: Invoke | None,
    awaits: bool,
    needs_request: bool,
    renderer: Renderer,
    errors: ExceptionHandlers,
    max_body_size: int,
) -> Run:
    extra = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in renderer.headers.items()
    ]
    json_headers = [JSON_HEADER, *extra]
    text_headers = [TEXT_HEADER, *extra]
    status = renderer.status_code or 200

    async def run(scope: dict[str, Any], receive: Any, send: Any, params: dict[str, Any]) -> None:
        request = Request(scope, receive, params, max_body_size) if needs_request else None
        body: bytes | None = None
        try:
            # a declared body over the limit is refused before the handler runs, so a route
            # that never reads its body still answers 413 (chunked bodies are counted as they
            # are read); the loop is inlined here and below: a call costs more than the loop
            for name, value in scope["headers"]:
                if name == b"content-length":
                    if value.isdigit() and int(value) > max_body_size:
                        raise body_too_large(max_body_size)
                    break
            if invoke is not None:
                result = invoke(request, params)
            elif params:
                result = handler(**params)
            else:
                result = handler()
            if awaits:
                result = await result
            kind = type(result)
            if kind is dict or kind is list:
                body, headers = dumps(result), json_headers
            elif kind is str:
                body, headers = result.encode(), text_headers
            else:
                response = await _render(result, renderer)
        except Exception as exc:
            # no lambda here: a closure would make these variables cells on every call
            later = partial(Request, scope, receive, params, max_body_size)
            response = await errors.response(exc, request or later)
        if body is None:
            await response(scope, receive, send)
            return
        size = len(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    *headers,
                    LENGTHS[size] if size < SMALL else (b"content-length", b"%d" % size),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return run


def _chained(
    invoke: Invoke,
    direct: Callable[[], Any] | None,
    awaits: bool,
    renderer: Renderer,
    processes: Sequence[Process],
    errors: ExceptionHandlers,
    max_body_size: int,
) -> Run:
    render = renderer.__call__  # a bound method: cheaper to call than the instance

    async def terminal(request: Request) -> Response:
        # errors become responses here, inside the chain, so middleware see their status
        try:
            result = direct() if direct is not None else invoke(request, request.path_params)
            if awaits:
                result = await result
            try:  # _render inlined: one coroutine less per request
                return render(result)
            except TypeError:
                if not inspect.isawaitable(result):
                    raise
            return render(await result)
        except Exception as exc:
            return await errors.response(exc, request)

    return chain_runner(processes, terminal, errors, max_body_size)


def chain_runner(
    processes: Sequence[Process], terminal: CallNext, errors: ExceptionHandlers, max_body_size: int
) -> Run:
    """Run ``processes`` around ``terminal`` with a new :class:`Request`; a failing
    middleware gives an error response too."""
    if not processes:
        return _chain_run(None, terminal, errors, max_body_size)
    # the outermost middleware is called here directly: one call less per request
    return _chain_run(processes[0], compose(processes[1:], terminal), errors, max_body_size)


def _chain_run(
    first: Process | None, call_next: CallNext, errors: ExceptionHandlers, max_body_size: int
) -> Run:
    async def run(scope: dict[str, Any], receive: Any, send: Any, params: dict[str, Any]) -> None:
        request = _new_request()  # Request(scope, receive, params, max_body_size), cheaper
        request.scope, request.receive = scope, receive
        request.path_params, request.max_body_size = params, max_body_size
        try:
            for name, value in scope["headers"]:  # the 413 check of _direct(), inlined
                if name == b"content-length":
                    if value.isdigit() and int(value) > max_body_size:
                        raise body_too_large(max_body_size)
                    break
            if first is None:
                response = await call_next(request)
            else:
                response = await first(request, call_next)
        except Exception as exc:
            response = await errors.response(exc, request)
        if type(response).__call__ is not _SEND_WHOLE:
            await response(scope, receive, send)
            return
        # a complete body: send it here rather than through one more coroutine per request
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response._body})

    return run


def head_of(run: Run) -> Run:
    """The automatic ``HEAD`` of a ``GET`` endpoint: same status and headers, no body."""

    async def run_head(
        scope: dict[str, Any], receive: Any, send: Any, params: dict[str, Any]
    ) -> None:
        async def send_head(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await run(scope, receive, send_head, params)

    return run_head
