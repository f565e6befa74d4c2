"""Weaving: plan at boot which methods of a bean are advised, then wrap them per instance.

The plan (which aspects advise which method, sync or async) is computed once per bean. For each
new instance the weaver builds one closure per advised method and per aspect, and stores the
outermost one in the instance ``__dict__`` (the class stays untouched). A call then runs one of
four prebuilt paths: sync or async, and "one around advice only" or the general chain. No
reflection and no list building happens per call.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from framework.aop.joinpoint import AsyncChainJoinPoint, ChainJoinPoint, Link, ProceedingJoinPoint
from framework.aop.marks import AdviceKind, AspectError
from framework.aop.pointcut import MethodSite, Pointcut, candidates
from framework.container.definitions import BeanDefinition
from framework.errors import describe

__all__ = ["Advice", "AspectDefinition", "BeanPlan", "MethodPlan", "plan_bean", "weave"]


@dataclass(frozen=True, slots=True)
class Advice:
    """One advice method of an aspect."""

    kind: AdviceKind
    name: str
    function: Callable[..., Any]
    is_async: bool

    def label(self, aspect: type) -> str:
        return f"{aspect.__qualname__}.{self.name}"


@dataclass(frozen=True, slots=True)
class AspectDefinition:
    """What boot builds from an ``@aspect`` class: its pointcuts and advices, checked."""

    bean: BeanDefinition
    order: int
    pointcuts: tuple[Pointcut, ...]
    advices: tuple[Advice, ...]

    @property
    def cls(self) -> type:
        return self.bean.cls

    def matches(self, site: MethodSite) -> bool:
        return any(pointcut.matches(site) for pointcut in self.pointcuts)

    def of(self, kind: AdviceKind) -> tuple[Advice, ...]:
        return tuple(advice for advice in self.advices if advice.kind is kind)


@dataclass(frozen=True, slots=True)
class MethodPlan:
    """An advised method and its aspects, outermost first."""

    name: str
    function: Callable[..., Any]
    is_async: bool
    aspects: tuple[AspectDefinition, ...]


@dataclass(frozen=True, slots=True)
class BeanPlan:
    """The advised methods of one bean."""

    bean: BeanDefinition
    methods: tuple[MethodPlan, ...]

    @property
    def aspects(self) -> tuple[AspectDefinition, ...]:
        found: dict[int, AspectDefinition] = {}
        for method in self.methods:
            found.update((id(a), a) for a in method.aspects)
        return tuple(found.values())


def plan_bean(bean: BeanDefinition, aspects: tuple[AspectDefinition, ...]) -> BeanPlan | None:
    """Which methods of ``bean`` the ``aspects`` (sorted, outermost first) advise, or ``None``.

    Raises:
        AspectError: an async advice matches a sync method, a sync around advice matches an
            async method, or the bean class has no instance ``__dict__``.
    """
    methods: list[MethodPlan] = []
    for site in candidates(bean):
        matched = tuple(aspect for aspect in aspects if aspect.matches(site))
        if matched:
            is_async = inspect.iscoroutinefunction(site.function)
            for aspect in matched:
                _check_kinds(site, is_async, aspect)
            methods.append(MethodPlan(site.name, site.function, is_async, matched))
    if not methods:
        return None
    plan = BeanPlan(bean, tuple(methods))
    if bean.cls.__dictoffset__ == 0:
        raise _slots_error(plan)
    return plan


def _check_kinds(site: MethodSite, is_async: bool, aspect: AspectDefinition) -> None:
    method = f"{site.bean.cls.__qualname__}.{site.name}"
    where = f"bean: {site.bean.name} ({site.bean.location})"
    exclude = f"exclude {method} from {aspect.cls.__qualname__}'s pointcuts"
    for advice in aspect.advices:
        if advice.is_async and not is_async:
            raise AspectError(
                describe(
                    [
                        f"async advice {advice.label(aspect.cls)} cannot advise sync method "
                        f"{method}",
                        where,
                        "why: a sync call returns before a coroutine advice could run",
                        f"fix: make {advice.label(aspect.cls)} sync, make {method} async, "
                        f"or {exclude}",
                    ]
                )
            )
        if advice.kind is AdviceKind.AROUND and is_async and not advice.is_async:
            raise AspectError(
                describe(
                    [
                        f"sync around advice {advice.label(aspect.cls)} cannot advise async "
                        f"method {method}",
                        where,
                        "why: there jp.proceed() returns a coroutine, so the advice would see "
                        "neither the result nor the exception",
                        f"fix: declare `async def {advice.name}(self, jp)` and "
                        f"`return await jp.proceed()`, or {exclude}",
                    ]
                )
            )


def _slots_error(plan: BeanPlan) -> AspectError:
    cls = plan.bean.cls.__qualname__
    first = plan.methods[0]
    by = ", ".join(a.cls.__qualname__ for a in first.aspects)
    return AspectError(
        describe(
            [
                f"bean {cls} cannot be woven: it has __slots__ and no __dict__ to hold the "
                "advised methods",
                f"at: {plan.bean.location}",
                f"advised: {cls}.{first.name} by {by}",
                f"fix: add '__dict__' to {cls}.__slots__, or exclude {cls} from the pointcuts "
                "of its aspects",
            ]
        )
    )


def weave(instance: Any, plan: BeanPlan, advisors: Mapping[int, Any]) -> Any:
    """Wrap the advised methods of ``instance``; ``advisors`` maps ``id(aspect)`` to its bean.

    Returns:
        ``instance`` itself, with one entry per advised method in its ``__dict__``.

    Raises:
        AspectError: the instance has no ``__dict__`` (a factory returned a slotted object).
    """
    try:
        namespace = vars(instance)
    except TypeError:
        raise _slots_error(plan) from None
    for method in plan.methods:
        bound = getattr(instance, method.name)
        function = getattr(bound, "__func__", method.function)  # a factory's subclass override
        entry: Callable[..., Any] = bound
        for aspect in reversed(method.aspects):  # innermost first: each wraps the previous
            link = Link(instance, function, plan.bean.name, entry)
            _bind(link, aspect, advisors[id(aspect)], method.is_async)
            entry = _entry(link, method.is_async)
        namespace[method.name] = _dress(entry, function, bound)
    return instance


def _bind(link: Link, aspect: AspectDefinition, advisor: Any, is_async: bool) -> None:
    def bound(kind: AdviceKind) -> tuple[Any, ...]:
        advices = aspect.of(kind)
        if is_async and kind is not AdviceKind.AROUND:
            return tuple((getattr(advisor, a.name), a.is_async) for a in advices)
        return tuple(getattr(advisor, a.name) for a in advices)

    link.arounds = bound(AdviceKind.AROUND)
    link.befores = bound(AdviceKind.BEFORE)
    link.afters = bound(AdviceKind.AFTER)
    link.returnings = bound(AdviceKind.AFTER_RETURNING)
    link.throwings = bound(AdviceKind.AFTER_THROWING)


def _dress(entry: Callable[..., Any], function: Callable[..., Any], bound: Any) -> Any:
    # The entry is a fresh closure per instance, so it can carry the method's metadata;
    # __wrapped__ is the bound original, whose signature has no ``self``.
    functools.update_wrapper(entry, function)
    entry.__wrapped__ = bound  # type: ignore[attr-defined]
    return entry


def _entry(link: Link, is_async: bool) -> Callable[..., Any]:
    only_around = len(link.arounds) == 1 and not (
        link.befores or link.afters or link.returnings or link.throwings
    )
    if is_async:
        return _only_around_async(link) if only_around else _chain_async(link)
    return _only_around_sync(link) if only_around else _chain_sync(link)


# The four entries below create their join point inline: a class without __init__ plus slot
# stores costs about half of a constructor call, on a path that runs on every advised call.


def _only_around_sync(link: Link) -> Callable[..., Any]:
    (around,) = link.arounds

    def woven(*args: Any, **kwargs: Any) -> Any:
        jp = ProceedingJoinPoint()
        jp._link = link
        jp.args = args
        jp.kwargs = kwargs
        jp.return_value = jp.exception = None
        return around(jp)

    return woven


def _only_around_async(link: Link) -> Callable[..., Any]:
    (around,) = link.arounds

    async def woven(*args: Any, **kwargs: Any) -> Any:
        jp = ProceedingJoinPoint()
        jp._link = link
        jp.args = args
        jp.kwargs = kwargs
        jp.return_value = jp.exception = None
        return await around(jp)

    return woven


def _chain_sync(link: Link) -> Callable[..., Any]:
    first, befores, inner = _first(link), link.befores, link.inner
    afters, returnings, throwings = link.afters, link.returnings, link.throwings

    def woven(*args: Any, **kwargs: Any) -> Any:
        jp = ChainJoinPoint()
        jp._link = link
        jp.args = args
        jp.kwargs = kwargs
        jp.return_value = jp.exception = None
        jp._depth = 1  # the first around advice is called here, the next by jp.proceed()
        try:
            if first is not None:
                result = first(jp)
            else:
                for advice in befores:
                    advice(jp)
                result = inner(*args, **kwargs)
        except Exception as exc:
            jp.exception = exc
            for advice in afters:
                advice(jp)
            for advice in throwings:
                advice(jp)
            raise
        jp.return_value = result
        for advice in afters:
            advice(jp)
        for advice in returnings:
            advice(jp)
        return result

    return woven


def _chain_async(link: Link) -> Callable[..., Any]:
    first, befores, inner = _first(link), link.befores, link.inner
    afters, returnings, throwings = link.afters, link.returnings, link.throwings

    async def woven(*args: Any, **kwargs: Any) -> Any:
        jp = AsyncChainJoinPoint()
        jp._link = link
        jp.args = args
        jp.kwargs = kwargs
        jp.return_value = jp.exception = None
        jp._depth = 1
        try:
            if first is not None:
                result = await first(jp)
            else:
                if befores:
                    await _notify(befores, jp)
                result = await inner(*args, **kwargs)
        except Exception as exc:
            jp.exception = exc
            if afters:
                await _notify(afters, jp)
            if throwings:
                await _notify(throwings, jp)
            raise
        jp.return_value = result
        if afters:
            await _notify(afters, jp)
        if returnings:
            await _notify(returnings, jp)
        return result

    return woven


def _first(link: Link) -> Callable[..., Any] | None:
    return link.arounds[0] if link.arounds else None


async def _notify(advices: tuple[Any, ...], jp: AsyncChainJoinPoint) -> None:
    for advice, is_async in advices:
        if is_async:
            await advice(jp)
        else:
            advice(jp)
