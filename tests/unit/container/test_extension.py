"""The extension seam: a user-defined decorator and boot step, with no container changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from framework import Application, BeanDefinition, Extension, ScanContext, bean
from framework.container import BeanMark
from framework.errors import BootError, FrameworkError
from framework.marks import attach, find, marked_members, recorder

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class CronMark:
    spec: str


def every(spec: str) -> Callable[[F], F]:
    return recorder(CronMark(spec))


class CronExtension(Extension):
    def __init__(self) -> None:
        self.jobs: list[tuple[str, Callable[[], Any]]] = []
        self.pending: list[tuple[str, type, str]] = []
        self.events: list[str] = []

    def scanned(self, ctx: ScanContext) -> None:
        for member, mark in ctx.scan.members_with(CronMark):
            self.pending.append((mark.spec, member.owner, member.name))
        ctx.add_bean(BeanDefinition("cron_clock", int, instance=42, has_instance=True))

    def built(self, app: Application) -> None:
        assert not app.container.frozen
        for spec, owner, name in self.pending:
            self.jobs.append((spec, getattr(app.container.get(owner), name)))

    async def startup(self, app: Application) -> None:
        self.events.append("startup")

    async def shutdown(self, app: Application) -> None:
        self.events.append("shutdown")


@bean
class Reports:
    @every("0 * * * * *")
    def hourly(self) -> str:
        return "report"


async def test_custom_decorator_and_extension_plug_into_boot() -> None:
    app = Application.from_classes(Reports, extensions=[CronExtension()])
    cron = app.extension(CronExtension)
    assert [(spec, job()) for spec, job in cron.jobs] == [("0 * * * * *", "report")]
    assert app.container.get("cron_clock") == 42
    assert app.container.frozen
    async with app:
        assert cron.events == ["startup"]
    assert cron.events == ["startup", "shutdown"]


def test_extensions_are_per_application() -> None:
    one = Application.from_classes(Reports, extensions=[CronExtension()])
    two = Application.from_classes(Reports, extensions=[CronExtension()])
    assert one.extension(CronExtension) is not two.extension(CronExtension)


def test_extension_by_dotted_name_from_config_must_exist() -> None:
    with pytest.raises(BootError) as info:
        Application.from_classes(Reports, config={"app": {"extensions": ["nowhere:Nope"]}})
    lines = str(info.value).splitlines()
    assert lines[0].startswith("cannot load extension 'nowhere:Nope': No module named 'nowhere'")
    assert lines[1] == "  fix: name it as 'package.module:ClassName', importable from the app"


def test_missing_extension_lookup_says_how_to_add_it() -> None:
    app = Application.from_classes(Reports)
    with pytest.raises(FrameworkError) as info:
        app.extension(CronExtension)
    assert str(info.value) == (
        "this application has no CronExtension; add it with "
        "Application.boot(extensions=[CronExtension()]) or config app.extensions"
    )


def test_marks_are_not_inherited_by_subclasses_but_members_are() -> None:
    @bean
    class Base:
        @every("1 * * * * *")
        def tick(self) -> None: ...

    class Child(Base):
        pass

    assert find(Base, BeanMark) and not find(Child, BeanMark)
    assert [m.name for m in marked_members(Child)] == ["tick"]


def test_attach_returns_the_same_object_and_keeps_order() -> None:
    def fn() -> int:
        return 1

    assert attach(attach(fn, CronMark("a")), CronMark("b")) is fn
    assert [m.spec for m in find(fn, CronMark)] == ["a", "b"]
    assert fn() == 1


def test_an_extension_given_twice_is_used_once_in_its_first_place() -> None:
    first, second = CronExtension(), CronExtension()
    app = Application.from_classes(Reports, extensions=[first, second])
    assert app.extension(CronExtension) is second
    assert [type(e) for e in app.extensions].count(CronExtension) == 1
    assert second.jobs and not first.jobs
