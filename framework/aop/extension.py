"""The AOP boot step: read ``@aspect`` classes, check them, and weave matching beans."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from framework import marks
from framework.aop.marks import AdviceKind, AdviceMark, AspectError, AspectMark, PointcutMark
from framework.aop.pointcut import compile_pointcut
from framework.aop.weaving import Advice, AspectDefinition, BeanPlan, plan_bean, weave
from framework.container.definitions import BeanDefinition, location_of
from framework.container.extension import Extension, ScanContext
from framework.errors import describe

if TYPE_CHECKING:
    from framework.container.container import Container

__all__ = ["AopExtension", "AspectWeaver", "aspect_definition"]


class AopExtension(Extension):
    """Collects the aspects at scan time and weaves every container-built bean they match.

    Attributes:
        aspects: the checked aspects, outermost (lowest ``order``) first; empty before boot.
    """

    def __init__(self) -> None:
        self.aspects: tuple[AspectDefinition, ...] = ()

    def scanned(self, ctx: ScanContext) -> None:
        """Check every aspect and, if there is any, add the weaver as a post-processor.

        Raises:
            AspectError: an aspect has no advice or no pointcut, an advice does not take
                ``(self, jp)``, or a pointcut pattern is invalid.
        """
        found = [aspect_definition(d, m) for d, m in ctx.bean_classes_with(AspectMark)]
        self.aspects = tuple(sorted(found, key=lambda a: a.order))  # stable: ties keep scan order
        if self.aspects:
            ctx.add_post_processor(AspectWeaver(self.aspects))


def aspect_definition(bean: BeanDefinition, mark: AspectMark) -> AspectDefinition:
    """Build and check the definition of the aspect bean ``bean``.

    Raises:
        AspectError: as :meth:`AopExtension.scanned`.
    """
    cls = bean.cls
    advices = tuple(
        _advice(cls, member.name, member.function, advice.kind)
        for member in marks.marked_members(cls)
        for advice in member.find(AdviceMark)
    )
    if not advices:
        raise AspectError(
            describe(
                [
                    f"aspect {cls.__qualname__} declares no advice",
                    f"at: {bean.location}",
                    f"fix: decorate a method of {cls.__qualname__} with @around, @before, "
                    "@after, @after_returning or @after_throwing",
                ]
            )
        )
    pointcuts = tuple(
        compile_pointcut(p, cls, bean.location) for p in marks.find(cls, PointcutMark)
    )
    if not pointcuts:
        raise AspectError(
            describe(
                [
                    f"aspect {cls.__qualname__} declares no pointcut, so it would advise nothing",
                    f"at: {bean.location}",
                    f"fix: decorate {cls.__qualname__} with @point_bean(...), "
                    "@point_execution(...) or @point_annotation(...)",
                ]
            )
        )
    return AspectDefinition(bean, mark.order, pointcuts, advices)


def _advice(cls: type, name: str, function: Callable[..., Any], kind: AdviceKind) -> Advice:
    try:
        signature: inspect.Signature | None = inspect.signature(function)
    except (TypeError, ValueError):
        signature = None
    if signature is None or not _takes_joinpoint(signature):
        joinpoint = "ProceedingJoinPoint) -> Any" if kind is AdviceKind.AROUND else "JoinPoint)"
        raise AspectError(
            describe(
                [
                    f"advice {cls.__qualname__}.{name} cannot take the join point: its "
                    f"signature is {signature or '(unknown)'}",
                    f"at: {location_of(function)}",
                    f"fix: declare it as `def {name}(self, jp: {joinpoint}`",
                ]
            )
        )
    return Advice(kind, name, function, inspect.iscoroutinefunction(function))


def _takes_joinpoint(signature: inspect.Signature) -> bool:
    try:
        signature.bind(None, None)  # (self, jp)
    except TypeError:
        return False
    return True


class AspectWeaver:
    """The :class:`~framework.container.extension.BeanPostProcessor` that weaves beans.

    For each bean it plans once which methods are advised; beans given as ready instances
    (``has_instance``, overrides) and the aspects themselves are left alone.
    """

    def __init__(self, aspects: tuple[AspectDefinition, ...]) -> None:
        self.aspects = aspects
        self._resolving: set[int] = set()

    def for_bean(
        self, definition: BeanDefinition, container: Container
    ) -> Callable[[Any], Any] | None:
        """The function weaving each new instance of ``definition``, or ``None``.

        Raises:
            AspectError: as :func:`~framework.aop.weaving.plan_bean`, or an aspect depends on
                a bean it advises.
        """
        if definition.has_instance or any(isinstance(m, AspectMark) for m in definition.marks):
            return None
        plan = plan_bean(definition, self.aspects)
        if plan is None:
            return None
        advisors = self._advisors(plan, container)

        def woven(instance: Any) -> Any:
            return weave(instance, plan, advisors)

        return woven

    def _advisors(self, plan: BeanPlan, container: Container) -> dict[int, Any]:
        # Building an aspect that (indirectly) needs this very bean would come back here
        # before the bean exists; say so instead of recursing.
        key = id(plan.bean)
        if key in self._resolving:
            raise _cycle_error(plan)
        self._resolving.add(key)
        try:
            return {id(a): container.get(a.bean.name) for a in plan.aspects}
        finally:
            self._resolving.discard(key)


def _cycle_error(plan: BeanPlan) -> AspectError:
    cls = plan.bean.cls.__qualname__
    names = ", ".join(a.cls.__qualname__ for a in plan.aspects)
    return AspectError(
        describe(
            [
                f"bean {cls} is advised by {names}, which need {cls} to be built first",
                f"at: {plan.bean.location}",
                f"fix: inject Provider[{cls}] into the aspect (resolved on first use), "
                f"or exclude {cls} from its pointcuts",
            ]
        )
    )
