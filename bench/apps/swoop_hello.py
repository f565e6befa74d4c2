"""The Swoop point of the HTTP benchmark: one controller, an injected bean, a middleware, an aspect.

It is what a small real endpoint pays for: routing, constructor injection (built once, at
boot), one controller middleware and one ``@around`` advice on the service method.
"""

from __future__ import annotations

from typing import Any

from framework import Application, bean
from framework.aop import ProceedingJoinPoint, around, aspect, point_bean
from framework.http import (
    CallNext,
    Request,
    Response,
    asgi_app,
    controller,
    get,
    middleware,
)
from framework.http.asgi import ASGIApp


@bean
class Greeter:
    def greet(self) -> str:
        return "Hello, World!"


@aspect
@point_bean(include=["Greeter"])
class Tracing:
    def __init__(self) -> None:
        self.calls = 0

    @around
    def count(self, jp: ProceedingJoinPoint) -> Any:
        self.calls += 1
        return jp.proceed()


@bean
class ServerHeader:
    async def process(self, request: Request, call_next: CallNext) -> Response:
        response = await call_next(request)
        response.headers["x-served-by"] = "swoop"
        return response


@controller("/")
@middleware(ServerHeader)
class HelloController:
    def __init__(self, greeter: Greeter) -> None:
        self.greeter = greeter

    @get("/")
    async def hello(self) -> str:
        return self.greeter.greet()


def build() -> ASGIApp:
    """The ASGI app: booted once, like a worker does."""
    app = Application.from_classes(Greeter, Tracing, ServerHeader, HelloController)
    return asgi_app(app)
