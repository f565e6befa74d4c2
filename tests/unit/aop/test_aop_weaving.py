"""Weaving: proceed, short-circuits, exceptions, what is (not) wrapped, self-calls."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from framework import Application, bean
from framework.aop import (
    AopExtension,
    AspectError,
    AspectWeaver,
    JoinPoint,
    ProceedingJoinPoint,
    after,
    after_returning,
    after_throwing,
    around,
    aspect,
    before,
    point_bean,
)
from framework.aop.extension import aspect_definition
from framework.aop.marks import AspectMark
from framework.aop.weaving import plan_bean, weave
from framework.container.definitions import definition_from_class


@bean
class Calls:
    def __init__(self) -> None:
        self.seen: list[str] = []


@aspect
@point_bean(include=["Math*"])
class Doubler:
    """Doubles the first argument, and turns a ZeroDivisionError into ``None``."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    @around
    def double(self, jp: ProceedingJoinPoint) -> Any:
        if jp.method.__name__ == "constant":
            return "short-circuited"
        try:
            first, *rest = jp.args
            return jp.proceed(first * 2, *rest, **jp.kwargs)
        except ZeroDivisionError:
            return None

    @before
    def seen(self, jp: JoinPoint) -> None:
        self.calls.seen.append(f"before {jp.method.__name__}{jp.args}")

    @after_returning
    def returned(self, jp: JoinPoint) -> None:
        self.calls.seen.append(f"returned {jp.return_value!r} for {jp.args}")


@bean
class MathService:
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def divide(self, a: int, b: int = 1) -> float:
        self.calls.seen.append(f"divide({a}, {b})")
        return a / b

    def constant(self) -> int:
        self.calls.seen.append("constant")
        return 1


def test_proceed_with_arguments_replaces_them_for_target_and_later_advices() -> None:
    app = Application.from_classes(Doubler, MathService, Calls)
    assert app.container.get(MathService).divide(3, b=2) == 3.0
    assert app.container.get(Calls).seen == [
        "before divide(6,)",
        "divide(6, 2)",
        "returned 3.0 for (6,)",
    ]


def test_around_replaces_an_exception_with_a_result() -> None:
    app = Application.from_classes(Doubler, MathService, Calls)
    assert app.container.get(MathService).divide(1, 0) is None
    assert app.container.get(Calls).seen == [
        "before divide(2, 0)",
        "divide(2, 0)",
        "returned None for (2, 0)",
    ]


def test_an_around_that_does_not_proceed_skips_before_and_target() -> None:
    app = Application.from_classes(Doubler, MathService, Calls)
    assert app.container.get(MathService).constant() == "short-circuited"
    assert app.container.get(Calls).seen == ["returned 'short-circuited' for ()"]


@aspect
@point_bean(include="Flaky")
class Retry:
    @around
    def again(self, jp: ProceedingJoinPoint) -> Any:
        try:
            return jp.proceed()
        except ConnectionError:
            return jp.proceed()

    @after_throwing
    def failed(self, jp: JoinPoint) -> None:
        raise AssertionError("the around advice handled it")


@bean
class Flaky:
    def __init__(self) -> None:
        self.attempts = 0

    def fetch(self) -> str:
        self.attempts += 1
        if self.attempts == 1:
            raise ConnectionError
        return "data"


def test_an_around_may_proceed_twice() -> None:
    app = Application.from_classes(Retry, Flaky)
    flaky = app.container.get(Flaky)
    assert flaky.fetch() == "data"
    assert flaky.attempts == 2


@aspect
@point_bean(include="Fragile")
class Observer:
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    @after_throwing
    def failed(self, jp: JoinPoint) -> None:
        self.calls.seen.append(f"observed {jp.exception!r}")

    @after
    def finally_(self, jp: JoinPoint) -> None:
        self.calls.seen.append("after")


@bean
class Fragile:
    def boom(self) -> None:
        raise KeyError("k")

    async def aboom(self) -> None:
        raise KeyError("k")

    def exit(self) -> None:
        raise SystemExit(3)


def test_after_throwing_observes_and_the_exception_propagates() -> None:
    app = Application.from_classes(Observer, Fragile, Calls)
    with pytest.raises(KeyError, match="k"):
        app.container.get(Fragile).boom()
    assert app.container.get(Calls).seen == ["after", "observed KeyError('k')"]


async def test_after_throwing_propagates_for_async_methods() -> None:
    app = Application.from_classes(Observer, Fragile, Calls)
    with pytest.raises(KeyError, match="k"):
        await app.container.get(Fragile).aboom()
    assert app.container.get(Calls).seen == ["after", "observed KeyError('k')"]


def test_base_exceptions_pass_without_advice() -> None:
    app = Application.from_classes(Observer, Fragile, Calls)
    with pytest.raises(SystemExit):
        app.container.get(Fragile).exit()
    assert app.container.get(Calls).seen == []


@aspect
@point_bean(include=["*"], exclude=["Calls"])
class Everything:
    """Matches every bean name, its own included: aspects are never woven."""

    @before
    def note(self, jp: JoinPoint) -> None:
        raise AssertionError("not expected to run")

    def helper(self) -> str:
        return "plain"


@bean
class Untouched:
    def work(self) -> str:
        return "done"


def test_aspect_beans_are_not_woven() -> None:
    app = Application.from_classes(Everything, Calls)
    instance = app.container.get(Everything)
    assert vars(instance) == {}
    assert instance.helper() == "plain"


def test_a_bean_without_matching_advice_stays_plain() -> None:
    app = Application.from_classes(Doubler, Untouched, Calls)
    instance = app.container.get(Untouched)
    assert "work" not in vars(instance)
    assert instance.work.__func__ is Untouched.work
    aspects = app.extension(AopExtension).aspects
    assert [a.cls for a in aspects] == [Doubler]
    assert AspectWeaver(aspects).for_bean(definition_from_class(Untouched), app.container) is None


def test_woven_methods_keep_their_metadata_and_the_class_is_untouched() -> None:
    app = Application.from_classes(Doubler, MathService, Calls)
    service = app.container.get(MathService)
    assert "divide" in vars(service)
    assert MathService.__dict__["divide"] is service.divide.__wrapped__.__func__
    assert service.divide.__name__ == "divide"
    assert service.divide.__qualname__ == "MathService.divide"
    assert str(inspect.signature(service.divide)) == "(a: 'int', b: 'int' = 1) -> 'float'"
    assert not inspect.iscoroutinefunction(service.divide)


async def test_async_woven_methods_stay_coroutine_functions() -> None:
    app = Application.from_classes(Observer, Fragile, Calls)
    assert inspect.iscoroutinefunction(app.container.get(Fragile).aboom)


@bean(scope="prototype")
class MathPrototype(MathService):
    pass


def test_each_prototype_instance_is_woven_with_its_own_target() -> None:
    app = Application.from_classes(Doubler, MathPrototype, Calls)
    one, two = app.container.get(MathPrototype), app.container.get(MathPrototype)
    assert one is not two
    assert one.divide(1) == two.divide(1) == 2.0
    assert one.divide.__wrapped__.__self__ is one


def test_beans_given_as_instances_are_not_woven() -> None:
    given = MathService(Calls())
    app = Application.from_classes(Doubler, MathService, Calls, overrides={MathService: given})
    assert app.container.get(MathService) is given
    assert vars(given).keys() == {"calls"}


def test_plan_and_weave_without_a_container() -> None:
    definition = definition_from_class(MathService)
    doubler = aspect_definition(definition_from_class(Doubler), AspectMark())
    plan = plan_bean(definition, (doubler,))
    assert plan is not None
    assert [m.name for m in plan.methods] == ["divide", "constant"]
    calls = Calls()
    service = weave(MathService(calls), plan, {id(doubler): Doubler(calls)})
    assert service.divide(5) == 10.0
    assert calls.seen == ["before divide(10,)", "divide(10, 1)", "returned 10.0 for (10,)"]


@aspect
@point_bean(include="Greeter")
class Counting:
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    @before
    def count(self, jp: JoinPoint) -> None:
        self.calls.seen.append(jp.method.__name__)


class BaseGreeter:
    def hello(self) -> str:
        return "hello"


@bean
class Greeter(BaseGreeter):
    def __init__(self, calls: Calls) -> None:
        self.calls = calls
        self.at_init = self.hello()  # not woven yet
        self.early = self.hello  # bound before weaving: stays plain

    def hello(self) -> str:
        return "hi"

    def via_self(self) -> str:
        return self.hello()

    def via_class(self) -> str:
        return type(self).hello(self)

    def via_super(self) -> str:
        return super().hello()


def test_self_calls() -> None:
    app = Application.from_classes(Counting, Greeter, Calls)
    greeter, seen = app.container.get(Greeter), app.container.get(Calls).seen
    assert greeter.at_init == "hi" and seen == []
    assert greeter.via_self() == "hi"
    assert seen == ["via_self", "hello"]
    seen.clear()
    assert greeter.via_class() == "hi"
    assert greeter.via_super() == "hello"
    assert greeter.early() == "hi"
    assert seen == ["via_class", "via_super"]


def test_woven_attribute_is_per_instance() -> None:
    app = Application.from_classes(Counting, Greeter, Calls)
    greeter = app.container.get(Greeter)
    assert "hello" in vars(greeter) and "hello" in vars(Greeter)
    plain = Greeter(Calls())
    assert "hello" not in vars(plain)


@aspect
@point_bean(include="Multi*")
class AfterOnly:
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    @after
    def done(self, jp: JoinPoint) -> None:
        self.calls.seen.append(f"{jp.bean_name}:{type(jp.target).__name__}:{jp.return_value}")


@bean(name="multi")
class MultiService:
    def one(self) -> int:
        return 1


def test_joinpoint_fields() -> None:
    app = Application.from_classes(AfterOnly, MultiService, Calls)
    assert app.container.get(MultiService).one() == 1
    assert app.container.get(Calls).seen == ["multi:MultiService:1"]


def test_child_containers_weave_with_their_own_aspect_instances() -> None:
    app = Application.from_classes(Doubler, MathService, Calls)
    fresh = Calls()
    child = app.container.child({Calls: fresh})
    assert child.get(MathService).divide(2) == 4.0
    assert fresh.seen == ["before divide(4,)", "divide(4, 1)", "returned 4.0 for (4,)"]
    assert app.container.get(Calls).seen == []


def test_joinpoint_repr() -> None:
    seen: list[str] = []

    @aspect
    @point_bean("MathService")
    class Show:
        @before
        def show(self, jp: JoinPoint) -> None:
            seen.append(repr(jp))

    app = Application.from_classes(Show, MathService, Calls)
    app.container.get(MathService).divide(1, b=2)
    assert seen == ["<JoinPoint MathService.divide args=(1,) kwargs={'b': 2}>"]


@aspect
@point_bean("Formatter")
class OnlyAround:
    """Only an around advice: the fast path."""

    @around
    def shout(self, jp: ProceedingJoinPoint) -> Any:
        if jp.kwargs.get("loud"):
            return jp.proceed(*jp.args, suffix="!").upper()
        return jp.proceed()


@bean
class Formatter:
    def format(self, text: str, suffix: str = ".", loud: bool = False) -> str:
        return text + suffix


def test_only_around_fast_path_passes_and_replaces_keyword_arguments() -> None:
    formatter = Application.from_classes(OnlyAround, Formatter).container.get(Formatter)
    assert formatter.format("hi") == "hi."
    assert formatter.format("hi", suffix="?") == "hi?"
    assert formatter.format("hi", loud=True) == "HI!"


def test_weaving_an_instance_without_dict_fails_at_build() -> None:
    class Slotted:
        __slots__ = ()

        def divide(self, a: int, b: int = 1) -> float:
            return a / b

    doubler = aspect_definition(definition_from_class(Doubler), AspectMark())
    plan = plan_bean(definition_from_class(MathService), (doubler,))
    assert plan is not None
    with pytest.raises(AspectError, match="bean MathService cannot be woven: it has __slots__"):
        weave(Slotted(), plan, {id(doubler): Doubler(Calls())})
