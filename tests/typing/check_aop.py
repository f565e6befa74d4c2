"""Checked by ``mypy --strict``, never run: aspects and advised beans keep their types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, assert_type

from framework import (
    JoinPoint,
    ProceedingJoinPoint,
    after,
    after_returning,
    after_throwing,
    around,
    aspect,
    bean,
    before,
    point_annotation,
    point_bean,
    point_execution,
)
from framework.marks import recorder


@dataclass(frozen=True, slots=True)
class AuditedMark:
    pass


@aspect(order=1)
@point_bean(include=["*Service"], exclude=["Legacy*"])
@point_execution(include=[r"app\.service\..*"])
@point_annotation(include=[AuditedMark])
class Timing:
    @around
    def time(self, jp: ProceedingJoinPoint) -> Any:
        return jp.proceed()

    @before
    def log(self, jp: JoinPoint) -> None:
        return None

    @after
    def done(self, jp: JoinPoint) -> None:
        return None

    @after_returning
    def ok(self, jp: JoinPoint) -> None:
        return None

    @after_throwing
    def failed(self, jp: JoinPoint) -> None:
        return None


@aspect
class Bare:
    @around
    async def wrap(self, jp: ProceedingJoinPoint) -> Any:
        return await jp.proceed()


@bean
class UserService:
    @recorder(AuditedMark())
    def find(self, user_id: int) -> dict[str, int]:
        return {"id": user_id}


assert_type(UserService().find(1), dict[str, int])
assert_type(Timing(), Timing)
assert_type(Bare(), Bare)
