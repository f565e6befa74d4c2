"""The HTTP decorators only record marks, and check their own arguments right away."""

from __future__ import annotations

import pytest

from framework import marks
from framework.container.marks import BeanMark
from framework.http import (
    RouteDeclarationError,
    controller,
    exception_handler,
    get,
    middleware,
    post,
    request_mapping,
)
from framework.http.marks import (
    ControllerMark,
    ExceptionHandlerMark,
    MiddlewareMark,
    RouteMark,
    default_prefix,
)
from framework.http.middleware import declared_middleware


class A:
    async def process(self, request: object, call_next: object) -> object: ...


class B(A):
    pass


class C(A):
    pass


def test_controller_records_controller_and_bean_marks() -> None:
    @controller("/api")
    class ApiController:
        @get("/x", status_code=201, headers={"X-A": "1"})
        async def x(self) -> None: ...

        @post()
        async def create(self) -> None: ...

    assert marks.first(ApiController, ControllerMark) == ControllerMark("/api")
    assert marks.first(ApiController, BeanMark) == BeanMark()
    route = marks.first(ApiController.x, RouteMark)
    assert route is not None
    assert (route.path, route.methods, route.status_code, route.headers) == (
        "/x",
        ("GET",),
        201,
        (("X-A", "1"),),
    )
    assert marks.first(ApiController.create, RouteMark) == RouteMark(None, ("POST",))


def test_bare_controller_and_default_prefix() -> None:
    @controller
    class UserProfileController:
        pass

    assert marks.first(UserProfileController, ControllerMark) == ControllerMark(None)
    assert default_prefix(UserProfileController) == "/userProfile"
    assert default_prefix(type("UserController", (), {})) == "/user"
    assert default_prefix(type("Health", (), {})) == "/health"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: request_mapping("/a b"), "whitespace"),
        (lambda: request_mapping("/a?x=1"), "'\\?'"),
        (lambda: request_mapping("/a", methods=["G ET"]), "not a method token"),
        (lambda: request_mapping("/a", methods=[]), "at least one"),
        (lambda: request_mapping("/a", status_code=99), "not an HTTP status"),
        (lambda: middleware(), "at least one"),
        (lambda: exception_handler(), "at least one"),
        (lambda: exception_handler(int), "exception classes"),  # type: ignore[arg-type]
    ],
)
def test_argument_errors(call: object, message: str) -> None:
    with pytest.raises(RouteDeclarationError, match=message):
        call()  # type: ignore[operator]


def test_middleware_written_order() -> None:
    @middleware(A, B)
    @middleware(C)
    class Ctl:
        @middleware(C)
        @middleware("pkg.mod:D")
        def m(self) -> None: ...

    assert declared_middleware(Ctl) == [A, B, C]
    assert declared_middleware(Ctl.m) == [C, "pkg.mod:D"]
    assert marks.find(Ctl, MiddlewareMark)[0] == MiddlewareMark((C,))


def test_exception_handler_mark() -> None:
    class Handlers:
        @exception_handler(KeyError, ValueError)
        def handle(self, exc: Exception) -> str:
            return "x"

    assert marks.first(Handlers.handle, ExceptionHandlerMark) == ExceptionHandlerMark(
        (KeyError, ValueError)
    )
    assert Handlers().handle(KeyError()) == "x"
