"""The exception-handler table: nearest class in the MRO wins; failures become 500s."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from framework.http import HTTPException, JSONResponse, Request
from framework.http.errors import DuplicateExceptionHandlerError, ExceptionHandlers
from framework.http.responses import Renderer


class AppError(Exception):
    pass


class NotFound(AppError):
    pass


class Gone(NotFound):
    pass


def request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": []})


def body(response: Any) -> Any:
    return orjson.loads(response.body)


async def test_nearest_class_wins() -> None:
    table = ExceptionHandlers(Renderer())
    table.add(AppError, lambda exc: ({"h": "app"}, 500), "a")
    table.add(NotFound, lambda exc, req: ({"h": "nf", "path": req.path}, 404), "b")
    response = await table.response(Gone(), request)
    assert response.status_code == 404 and body(response) == {"h": "nf", "path": "/"}
    response = await table.response(AppError(), request)
    assert body(response) == {"h": "app"}


async def test_async_handler_and_base_exception_handler() -> None:
    table = ExceptionHandlers(Renderer())

    async def handle(exc: Exception) -> JSONResponse:
        return JSONResponse({"h": type(exc).__name__}, status_code=418)

    table.add(Exception, handle, "a")
    response = await table.response(HTTPException(404), request)
    assert response.status_code == 418 and body(response) == {"h": "HTTPException"}


async def test_defaults(caplog: pytest.LogCaptureFixture) -> None:
    table = ExceptionHandlers(Renderer())
    response = await table.response(HTTPException(403, "no", {"X-Why": "policy"}), request)
    assert response.status_code == 403 and body(response) == {"code": 403, "message": "no"}
    assert response.headers["x-why"] == "policy"
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        with caplog.at_level(logging.ERROR, "swoop.http"):
            response = await table.response(exc, request)
    assert response.status_code == 500 and body(response) == {
        "code": 500,
        "message": "Internal Server Error",
    }
    assert "boom" in caplog.text and "Traceback" in caplog.text


async def test_debug_adds_traceback() -> None:
    table = ExceptionHandlers(Renderer(), debug=True)
    response = await table.response(RuntimeError("boom"), request)
    assert "RuntimeError: boom" in body(response)["traceback"]


async def test_failing_handler_gives_500(caplog: pytest.LogCaptureFixture) -> None:
    table = ExceptionHandlers(Renderer())

    def broken(exc: Exception) -> None:
        raise ValueError("handler bug")

    table.add(AppError, broken, "Handlers.broken (app.py:1)")
    with caplog.at_level(logging.ERROR, "swoop.http"):
        response = await table.response(AppError(), request)
    assert response.status_code == 500
    assert "Handlers.broken (app.py:1)" in caplog.text


def test_duplicate_handlers() -> None:
    table = ExceptionHandlers(Renderer())
    table.add(AppError, lambda exc: None, "first (a.py:1)")
    with pytest.raises(DuplicateExceptionHandlerError, match=r"first \(a\.py:1\)"):
        table.add(AppError, lambda exc: None, "second (b.py:2)")
