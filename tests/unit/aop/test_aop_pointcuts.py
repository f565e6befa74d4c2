"""Pointcuts: by bean, by execution path, by mark; include/exclude; union; candidates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from framework import Application, bean, marks
from framework.aop import (
    JoinPoint,
    aspect,
    before,
    point_annotation,
    point_bean,
    point_execution,
)
from framework.aop.extension import aspect_definition
from framework.aop.marks import AspectMark
from framework.aop.weaving import plan_bean
from framework.container.definitions import definition_from_class

MODULE = __name__.replace(".", r"\.")


def advised(aspect_cls: type, bean_cls: type) -> list[str]:
    """The names of the methods of ``bean_cls`` that ``aspect_cls`` advises."""
    definition = aspect_definition(definition_from_class(aspect_cls), AspectMark())
    plan = plan_bean(definition_from_class(bean_cls), (definition,))
    return [] if plan is None else [m.name for m in plan.methods]


def tracing(*pointcuts: Any) -> type:
    class Tracing:
        @before
        def note(self, jp: JoinPoint) -> None: ...

    for pointcut in pointcuts:
        pointcut(Tracing)
    return aspect(Tracing)


@bean(alias=("users",))
class UserService:
    def find(self) -> None: ...

    def get_user(self) -> None: ...


@bean(name="legacy_users")
class LegacyUserService:
    def find(self) -> None: ...


@bean
class Repository:
    def get_row(self) -> None: ...


def test_point_bean_globs_class_names_and_bean_names() -> None:
    by_class = tracing(point_bean(include=["*Service"], exclude=["Legacy*"]))
    assert advised(by_class, UserService) == ["find", "get_user"]
    assert advised(by_class, LegacyUserService) == []
    assert advised(by_class, Repository) == []
    by_alias = tracing(point_bean("users"))
    assert advised(by_alias, UserService) == ["find", "get_user"]
    by_name_exclude = tracing(point_bean("*Service", exclude="legacy_*"))
    assert advised(by_name_exclude, LegacyUserService) == []


def test_point_bean_globs_are_case_sensitive() -> None:
    assert advised(tracing(point_bean("*SERVICE")), UserService) == []
    assert advised(tracing(point_bean("*service")), UserService) == ["find", "get_user"]  # name


def test_point_execution_fully_matches_module_class_method() -> None:
    getters = tracing(point_execution([rf"{MODULE}\..*\.get_.*"], exclude=[r".*\.get_row"]))
    assert advised(getters, UserService) == ["get_user"]
    assert advised(getters, Repository) == []
    partial = tracing(point_execution(r"get_user"))  # fullmatch: no match on a part
    assert advised(partial, UserService) == []


@dataclass(frozen=True)
class TransactionalMark:
    readonly: bool = False


class ReadOnlyMark(TransactionalMark):
    pass


@dataclass(frozen=True)
class NoTxMark:
    pass


@bean
class Accounts:
    @marks.recorder(TransactionalMark())
    def transfer(self) -> None: ...

    @marks.recorder(ReadOnlyMark())
    def balance(self) -> None: ...

    @marks.recorder(NoTxMark())
    @marks.recorder(TransactionalMark())
    def audit(self) -> None: ...

    def plain(self) -> None: ...


def test_point_annotation_matches_mark_classes_and_subclasses() -> None:
    tx = tracing(point_annotation(include=[TransactionalMark], exclude=NoTxMark))
    assert advised(tx, Accounts) == ["transfer", "balance"]
    readonly = tracing(point_annotation(ReadOnlyMark))
    assert advised(readonly, Accounts) == ["balance"]


def test_several_pointcuts_are_a_union_with_per_pointcut_excludes() -> None:
    union = tracing(
        point_bean("Repository"),
        point_execution(rf"{MODULE}\.Accounts\..*", exclude=r".*\.plain"),
    )
    assert advised(union, Repository) == ["get_row"]
    assert advised(union, Accounts) == ["transfer", "balance", "audit"]
    # the execution exclude does not remove what the bean pointcut matched
    both = tracing(point_bean("Accounts"), point_execution(r".*", exclude=r".*\.plain"))
    assert advised(both, Accounts) == ["transfer", "balance", "audit", "plain"]


class Base:
    def inherited(self) -> None: ...

    def overridden(self) -> None: ...


@bean
class Candidates(Base):
    x: int = 1

    def public(self) -> None: ...

    def overridden(self) -> None: ...

    def _private(self) -> None: ...

    def __dunder__(self) -> None: ...

    @staticmethod
    def static() -> None: ...

    @classmethod
    def klass(cls) -> None: ...

    @property
    def prop(self) -> int:
        return 1


def test_candidates_are_public_plain_methods_including_inherited_ones() -> None:
    everything = tracing(point_bean("*"))
    assert advised(everything, Candidates) == ["public", "overridden", "inherited"]


def test_point_execution_names_inherited_methods_by_the_bean_class() -> None:
    by_path = tracing(point_execution(rf"{MODULE}\.Candidates\.inherited"))
    assert advised(by_path, Candidates) == ["inherited"]


def test_pointcuts_end_to_end() -> None:
    seen: list[str] = []

    @aspect
    @point_annotation(TransactionalMark)
    class Tx:
        @before
        def begin(self, jp: JoinPoint) -> None:
            seen.append(jp.method.__name__)

    app = Application.from_classes(Tx, Accounts, UserService)
    accounts = app.container.get(Accounts)
    accounts.transfer()
    accounts.plain()
    app.container.get(UserService).find()
    assert seen == ["transfer"]
