"""Middleware order, built-in middleware and exception handlers, on both engines."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from framework import Application, bean
from framework.http import (
    CallNext,
    HTTPException,
    JSONResponse,
    Request,
    Response,
    asgi_app,
    controller,
    current_request_id,
    exception_handler,
    get,
    middleware,
    post,
)
from framework.testing.servers import serve_asgi

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("swoop_leak_check")]

ENGINES = ["hypercorn", "uvicorn"]


class Recorder:
    """Appends its class name on the way in (request.state) and out (a response header)."""

    async def process(self, request: Request, call_next: CallNext) -> Response:
        request.state.setdefault("trail", []).append(type(self).__name__)
        response = await call_next(request)
        response.headers.append("x-out", type(self).__name__)
        return response


class GlobalA(Recorder):
    pass


class GlobalB(Recorder):
    pass


class CtlA(Recorder):
    pass


class CtlB(Recorder):
    pass


class CtlC(Recorder):
    pass


class MethA(Recorder):
    pass


class MethB(Recorder):
    pass


class Deny:
    async def process(self, request: Request, call_next: CallNext) -> Response:
        if request.headers.get("x-pass") != "yes":
            return JSONResponse({"denied": True}, status_code=403)
        return await call_next(request)


class Broken:
    async def process(self, request: Request, call_next: CallNext) -> Response:
        raise RuntimeError("middleware bug")


class AppError(Exception):
    pass


class NotFoundError(AppError):
    pass


class GoneError(NotFoundError):
    pass


@bean
class Handlers:
    @exception_handler(AppError)
    def app_error(self, exc: AppError) -> tuple[dict[str, str], int]:
        return {"handled": "AppError", "type": type(exc).__name__}, 500

    @exception_handler(NotFoundError)
    async def not_found(self, exc: NotFoundError, request: Request) -> JSONResponse:
        return JSONResponse(
            {"handled": "NotFoundError", "type": type(exc).__name__, "path": request.path},
            status_code=404,
        )

    @exception_handler(KeyError, LookupError)
    def lookup(self, exc: LookupError) -> Response:
        return Response("lookup failed", 409, media_type="text/plain")


@controller("/mw")
@middleware(CtlA, CtlB)
@middleware(CtlC)
class MiddlewareController:
    @get("/order")
    @middleware(MethA)
    @middleware(MethB)
    async def order(self, request: Request) -> dict[str, Any]:
        return {"trail": request.state["trail"]}

    @get("/plain")
    async def plain(self, request: Request) -> dict[str, Any]:
        return {"trail": request.state["trail"]}

    @get("/guarded")
    @middleware(Deny)
    async def guarded(self) -> str:
        return "secret"

    @get("/broken")
    @middleware(Broken)
    async def broken(self) -> str:
        return "never"

    @get("/raise/{kind}")
    async def raise_(self, kind: str) -> str:
        errors: dict[str, Exception] = {
            "app": AppError(),
            "notfound": NotFoundError(),
            "gone": GoneError(),
            "key": KeyError("k"),
            "index": IndexError(),
            "http": HTTPException(418, "short and stout", {"X-Teapot": "1"}),
            "runtime": RuntimeError("boom"),
        }
        raise errors[kind]

    @get("/request-id")
    async def request_id(self, request: Request) -> dict[str, Any]:
        return {"state": request.request_id, "context": current_request_id()}

    @post("/cors")
    async def cors(self) -> str:
        return "cors"


def make_app(**http: Any) -> Application:
    config = {
        "http": {
            "middlewares": [
                "framework.http:RequestIdMiddleware",
                "framework.http:AccessLogMiddleware",
                "framework.http:CORSMiddleware",
                GlobalA,
                f"{__name__}:GlobalB",
            ],
            "cors": {"allow_origins": ["https://ok.example"], "allow_headers": ["*"]},
            **http,
        },
    }
    return Application.from_classes(MiddlewareController, Handlers, config=config)


@pytest.fixture(params=ENGINES)
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serve_asgi(asgi_app(make_app()), engine=request.param) as url,
        httpx.AsyncClient(base_url=url) as c,
    ):
        yield c


async def test_order_global_controller_method(client: httpx.AsyncClient) -> None:
    response = await client.get("/mw/order")
    inner = ["GlobalA", "GlobalB", "CtlA", "CtlB", "CtlC", "MethA", "MethB"]
    assert response.json() == {"trail": inner}
    assert response.headers.get_list("x-out") == list(reversed(inner))
    assert (await client.get("/mw/plain")).json() == {"trail": inner[:5]}


async def test_global_middleware_wrap_misses(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers.get_list("x-out") == ["GlobalB", "GlobalA"]
    assert "x-request-id" in response.headers


async def test_short_circuit_and_failing_middleware(client: httpx.AsyncClient) -> None:
    denied = await client.get("/mw/guarded")
    assert denied.status_code == 403 and denied.json() == {"denied": True}
    assert (await client.get("/mw/guarded", headers={"x-pass": "yes"})).text == "secret"
    broken = await client.get("/mw/broken")
    # a middleware's exception propagates through the outer ones (they may catch it) and
    # becomes the error response at the outermost level
    assert broken.status_code == 500
    assert broken.json() == {"code": 500, "message": "Internal Server Error"}
    assert broken.headers.get_list("x-out") == []


async def test_exception_handlers_nearest_class_wins(client: httpx.AsyncClient) -> None:
    app_error = await client.get("/mw/raise/app")
    assert (app_error.status_code, app_error.json()) == (
        500,
        {"handled": "AppError", "type": "AppError"},
    )
    gone = await client.get("/mw/raise/gone")
    assert gone.status_code == 404
    assert gone.json() == {
        "handled": "NotFoundError",
        "type": "GoneError",
        "path": "/mw/raise/gone",
    }
    key = await client.get("/mw/raise/key")
    assert (key.status_code, key.text) == (409, "lookup failed")
    index = await client.get("/mw/raise/index")  # IndexError -> LookupError's handler
    assert index.status_code == 409


async def test_http_exception_and_unhandled_errors(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    teapot = await client.get("/mw/raise/http")
    assert teapot.status_code == 418 and teapot.headers["x-teapot"] == "1"
    assert teapot.json() == {"code": 418, "message": "short and stout"}
    with caplog.at_level(logging.ERROR, "swoop.http"):
        crash = await client.get("/mw/raise/runtime")
    assert crash.status_code == 500
    assert crash.json() == {"code": 500, "message": "Internal Server Error"}
    assert "RuntimeError: boom" in caplog.text and "Traceback" in caplog.text
    assert (await client.get("/mw/plain")).status_code == 200  # still serving


async def test_debug_mode_adds_traceback() -> None:
    app = Application.from_classes(MiddlewareController, Handlers, config={"app": {"debug": True}})
    async with (
        serve_asgi(asgi_app(app)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        body = (await client.get("/mw/raise/runtime")).json()
    assert body["code"] == 500 and "RuntimeError: boom" in body["traceback"]


async def test_request_id(client: httpx.AsyncClient) -> None:
    generated = await client.get("/mw/request-id")
    rid = generated.headers["x-request-id"]
    assert len(rid) == 32 and generated.json() == {"state": rid, "context": rid}
    given = await client.get("/mw/request-id", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    assert given.json()["state"] == "abc-123"
    bad = await client.get("/mw/request-id", headers={"X-Request-ID": "x" * 300})
    assert bad.headers["x-request-id"] != "x" * 300


async def test_access_log(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "swoop.access"):
        response = await client.get("/mw/plain", headers={"X-Request-ID": "rid-1"})
        await client.get("/nowhere")
    records = [r for r in caplog.records if r.name == "swoop.access"]
    assert len(records) == 2
    first: Any = records[0]
    assert first.getMessage().startswith("GET /mw/plain 200 ")
    assert first.getMessage().endswith("ms request_id=rid-1")
    assert (first.method, first.path, first.status, first.request_id) == (
        "GET",
        "/mw/plain",
        200,
        "rid-1",
    )
    assert isinstance(first.duration_ms, float)
    assert records[1].getMessage().startswith("GET /nowhere 404 ")
    assert response.status_code == 200


async def test_cors(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/mw/cors",
        headers={
            "Origin": "https://ok.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-Custom",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://ok.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "X-Custom"
    simple = await client.post("/mw/cors", headers={"Origin": "https://ok.example"})
    assert simple.headers["access-control-allow-origin"] == "https://ok.example"
    assert simple.headers["vary"] == "Origin"
    other = await client.post("/mw/cors", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    refused = await client.options(
        "/mw/cors",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 403


@pytest.mark.parametrize("engine", ENGINES)
async def test_declared_body_over_the_limit_is_413_before_any_middleware(engine: str) -> None:
    app = asgi_app(make_app(max_body_size=100))
    async with serve_asgi(app, engine=engine) as url, httpx.AsyncClient(base_url=url) as c:
        too_big = await c.post("/mw/cors", content=b"x" * 101)
        assert too_big.status_code == 413
        assert too_big.json()["code"] == 413
        assert "x-out" not in too_big.headers  # refused before the chain ran
        # at the limit, the chain and the route run as usual
        fits = await c.post("/mw/cors", content=b"x" * 100)
        assert fits.status_code == 200
        assert fits.text == "cors"
        assert fits.headers.get_list("x-out") == ["CtlC", "CtlB", "CtlA", "GlobalB", "GlobalA"]
