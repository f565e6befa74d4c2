"""Checked by ``mypy --strict``, never run: controllers and handlers keep their signatures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, assert_type

from framework import (
    Header,
    HTTPException,
    JSONResponse,
    Query,
    Request,
    Response,
    bean,
    controller,
    delete,
    exception_handler,
    get,
    middleware,
    post,
    request_mapping,
)
from framework.http import CallNext


@dataclass
class NewUser:
    name: str


@bean
class Timing:
    async def process(self, request: Request, call_next: CallNext) -> Response:
        return await call_next(request)


@controller("/users")
@middleware(Timing)
class UserController:
    @get("/{id:int}", name="user.show")
    async def show(self, id: int, q: Annotated[str, Query()] = "") -> dict[str, object]:
        return {"id": id, "q": q}

    @post("/", status_code=201)
    async def create(self, user: NewUser, agent: Annotated[str, Header()] = "") -> NewUser:
        return user

    @request_mapping("/bulk", methods=["PUT", "PATCH"], params={"id": r"\d+"})
    def bulk(self) -> list[int]:
        return [1]

    @delete("/{id:int}")
    async def remove(self, id: int) -> None:
        return None


@controller
class Plain:
    @get()
    async def index(self) -> str:
        return "ok"


@bean
class Errors:
    @exception_handler(KeyError, LookupError)
    def missing(self, exc: LookupError, request: Request) -> JSONResponse:
        return JSONResponse({"code": 404, "message": str(exc)}, status_code=404)


assert_type(UserController().bulk(), list[int])
assert_type(HTTPException(404, "no"), HTTPException)
assert_type(Errors().missing(KeyError("x"), Request.__new__(Request)), JSONResponse)
