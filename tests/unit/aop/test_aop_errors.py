"""The exact text of every AspectError: what happened, where, how to fix it."""

from __future__ import annotations

from typing import Any

import pytest

from framework import Application, BootError, Provider, bean
from framework.aop import (
    AspectError,
    JoinPoint,
    ProceedingJoinPoint,
    after,
    around,
    aspect,
    before,
    point_annotation,
    point_bean,
    point_execution,
)
from framework.container.definitions import location_of

HERE = "tests/unit/aop/test_aop_errors.py"


def boot_error(*classes: type) -> str:
    with pytest.raises(AspectError) as caught:
        Application.from_classes(*classes)
    return str(caught.value)


def test_aspect_error_is_a_boot_error() -> None:
    assert issubclass(AspectError, BootError)


@aspect
@point_bean("*Service")
class NoAdvice:
    def helper(self) -> None: ...


def test_aspect_without_advice() -> None:
    assert boot_error(NoAdvice) == (
        "aspect NoAdvice declares no advice\n"
        f"  at: {location_of(NoAdvice)}\n"
        "  fix: decorate a method of NoAdvice with @around, @before, @after, @after_returning "
        "or @after_throwing"
    )
    assert location_of(NoAdvice).startswith(f"{HERE}:")


@aspect
class NoPointcut:
    @before
    def note(self, jp: JoinPoint) -> None: ...


def test_aspect_without_pointcut() -> None:
    assert boot_error(NoPointcut) == (
        "aspect NoPointcut declares no pointcut, so it would advise nothing\n"
        f"  at: {location_of(NoPointcut)}\n"
        "  fix: decorate NoPointcut with @point_bean(...), @point_execution(...) or "
        "@point_annotation(...)"
    )


@aspect
@point_bean("*Service")
class NoJoinPoint:
    @before
    def note(self) -> None: ...


@aspect
@point_bean("*Service")
class TooManyParameters:
    @around
    def wrap(self, jp: ProceedingJoinPoint, extra: int) -> Any: ...


def test_advice_with_a_wrong_signature() -> None:
    assert boot_error(NoJoinPoint) == (
        "advice NoJoinPoint.note cannot take the join point: its signature is (self) -> 'None'\n"
        f"  at: {location_of(NoJoinPoint.note)}\n"
        "  fix: declare it as `def note(self, jp: JoinPoint)`"
    )
    assert boot_error(TooManyParameters) == (
        "advice TooManyParameters.wrap cannot take the join point: its signature is "
        "(self, jp: 'ProceedingJoinPoint', extra: 'int') -> 'Any'\n"
        f"  at: {location_of(TooManyParameters.wrap)}\n"
        "  fix: declare it as `def wrap(self, jp: ProceedingJoinPoint) -> Any`"
    )


@aspect
@point_execution([r"app\.(service"])
class BadRegex:
    @before
    def note(self, jp: JoinPoint) -> None: ...


def test_pointcut_regex_that_does_not_compile() -> None:
    assert boot_error(BadRegex) == (
        r"aspect BadRegex: @point_execution pattern 'app\\.(service' is not a valid regular "
        "expression: missing ), unterminated subpattern at position 5\n"
        f"  at: {location_of(BadRegex)}\n"
        "  fix: correct the pattern; it must fully match 'module.Class.method', "
        r"e.g. r'app\.service\..*\.get_.*'"
    )


@aspect
@point_bean(include=[])
class EmptyInclude:
    @before
    def note(self, jp: JoinPoint) -> None: ...


@aspect
@point_annotation(include=["TransactionalMark"])  # type: ignore[list-item]
class NotAMarkClass:
    @before
    def note(self, jp: JoinPoint) -> None: ...


@aspect
@point_bean(include=[NoAdvice])  # type: ignore[list-item]
class NotAPattern:
    @before
    def note(self, jp: JoinPoint) -> None: ...


def test_pointcut_arguments_of_the_wrong_shape() -> None:
    assert boot_error(EmptyInclude) == (
        "aspect EmptyInclude: @point_bean has no include pattern, so it matches nothing\n"
        f"  at: {location_of(EmptyInclude)}\n"
        "  fix: give it what to advise, e.g. @point_bean(include=['*Service'])"
    )
    assert boot_error(NotAMarkClass) == (
        "aspect NotAMarkClass: @point_annotation entry 'TransactionalMark' is not a mark class\n"
        f"  at: {location_of(NotAMarkClass)}\n"
        "  fix: pass the mark classes themselves, e.g. "
        "@point_annotation(include=[TransactionalMark])"
    )
    assert boot_error(NotAPattern) == (
        f"aspect NotAPattern: @point_bean entry {NoAdvice!r} is not a string pattern\n"
        f"  at: {location_of(NotAPattern)}\n"
        "  fix: pass patterns as strings, e.g. @point_bean(include=['*Service'])"
    )


@aspect
@point_bean("*Service")
class AsyncTiming:
    @around
    async def time(self, jp: ProceedingJoinPoint) -> Any:
        return await jp.proceed()


@aspect
@point_bean("*Service")
class SyncTiming:
    @around
    def time(self, jp: ProceedingJoinPoint) -> Any:
        return jp.proceed()


@bean
class SyncService:
    def get(self) -> int:
        return 1


@bean
class AsyncService:
    async def get(self) -> int:
        return 1


def test_async_advice_on_a_sync_method() -> None:
    assert boot_error(AsyncTiming, SyncService) == (
        "async advice AsyncTiming.time cannot advise sync method SyncService.get\n"
        f"  bean: sync_service ({location_of(SyncService)})\n"
        "  why: a sync call returns before a coroutine advice could run\n"
        "  fix: make AsyncTiming.time sync, make SyncService.get async, "
        "or exclude SyncService.get from AsyncTiming's pointcuts"
    )


def test_sync_around_advice_on_an_async_method() -> None:
    assert boot_error(SyncTiming, AsyncService) == (
        "sync around advice SyncTiming.time cannot advise async method AsyncService.get\n"
        f"  bean: async_service ({location_of(AsyncService)})\n"
        "  why: there jp.proceed() returns a coroutine, so the advice would see neither the "
        "result nor the exception\n"
        "  fix: declare `async def time(self, jp)` and `return await jp.proceed()`, "
        "or exclude AsyncService.get from SyncTiming's pointcuts"
    )


@aspect
@point_bean("*Service")
class SyncNotes:
    @before
    def note(self, jp: JoinPoint) -> None: ...

    @after
    def done(self, jp: JoinPoint) -> None: ...


async def test_sync_before_and_after_may_advise_async_methods() -> None:
    app = Application.from_classes(SyncNotes, AsyncService)
    service = app.container.get(AsyncService)
    assert "get" in vars(service)
    assert await service.get() == 1


@bean
class SlottedService:
    __slots__ = ()

    def get(self) -> int:
        return 1


def test_slotted_bean_without_dict() -> None:
    assert boot_error(SyncTiming, SlottedService) == (
        "bean SlottedService cannot be woven: it has __slots__ and no __dict__ to hold the "
        "advised methods\n"
        f"  at: {location_of(SlottedService)}\n"
        "  advised: SlottedService.get by SyncTiming\n"
        "  fix: add '__dict__' to SlottedService.__slots__, or exclude SlottedService from the "
        "pointcuts of its aspects"
    )


@bean
class SlottedWithDictService:
    __slots__ = ("__dict__",)

    def get(self) -> int:
        return 1


def test_slotted_bean_with_dict_is_woven() -> None:
    app = Application.from_classes(SyncTiming, SlottedWithDictService)
    assert "get" in vars(app.container.get(SlottedWithDictService))


@bean
class CycleService:
    def get(self) -> int:
        return 1


@aspect
@point_bean("CycleService")
class NeedsWhatItAdvises:
    def __init__(self, service: CycleService) -> None:
        self.service = service

    @before
    def note(self, jp: JoinPoint) -> None: ...


@aspect
@point_bean("CycleService")
class UsesAProvider:
    def __init__(self, service: Provider[CycleService]) -> None:
        self.service = service

    @before
    def note(self, jp: JoinPoint) -> None: ...


def test_aspect_depending_on_a_bean_it_advises() -> None:
    assert boot_error(NeedsWhatItAdvises, CycleService) == (
        "bean CycleService is advised by NeedsWhatItAdvises, which need CycleService to be "
        "built first\n"
        f"  at: {location_of(CycleService)}\n"
        "  fix: inject Provider[CycleService] into the aspect (resolved on first use), or "
        "exclude CycleService from its pointcuts"
    )
    app = Application.from_classes(UsesAProvider, CycleService)
    assert app.container.get(UsesAProvider).service() is app.container.get(CycleService)
