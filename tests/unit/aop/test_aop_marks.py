"""The AOP decorators only record marks and return what they decorate."""

from __future__ import annotations

from framework import marks
from framework.aop import (
    AdviceKind,
    AdviceMark,
    AspectMark,
    JoinPoint,
    PointcutKind,
    PointcutMark,
    after,
    after_returning,
    after_throwing,
    around,
    aspect,
    before,
    point_annotation,
    point_bean,
    point_execution,
)
from framework.container.marks import BeanMark


def test_aspect_records_an_aspect_mark_and_makes_a_singleton_bean() -> None:
    @aspect(order=3)
    class Ordered:
        pass

    @aspect
    class Bare:
        pass

    assert marks.find(Ordered, AspectMark) == (AspectMark(3),)
    assert marks.find(Ordered, BeanMark) == (BeanMark(),)
    assert marks.find(Bare, AspectMark) == (AspectMark(0),)


def test_advice_decorators_return_the_function_with_its_kind() -> None:
    decorators = [
        (around, AdviceKind.AROUND),
        (before, AdviceKind.BEFORE),
        (after, AdviceKind.AFTER),
        (after_returning, AdviceKind.AFTER_RETURNING),
        (after_throwing, AdviceKind.AFTER_THROWING),
    ]
    for decorator, kind in decorators:

        def advice(self: object, jp: JoinPoint) -> None: ...

        assert decorator(advice) is advice
        assert marks.find(advice, AdviceMark) == (AdviceMark(kind),)


def test_pointcut_decorators_record_patterns_and_a_lone_string_is_one_pattern() -> None:
    @point_bean("*Service", exclude="Legacy*")
    @point_execution([r"app\..*"])
    @point_annotation(int, exclude=[str, bytes])
    class Target:
        pass

    assert marks.find(Target, PointcutMark) == (
        PointcutMark(PointcutKind.ANNOTATION, (int,), (str, bytes)),
        PointcutMark(PointcutKind.EXECUTION, (r"app\..*",), ()),
        PointcutMark(PointcutKind.BEAN, ("*Service",), ("Legacy*",)),
    )
