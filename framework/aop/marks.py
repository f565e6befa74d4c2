"""The AOP decorators: ``aspect``, the five advice kinds and the three pointcut kinds.

As everywhere in Swoop they only record a frozen mark; :class:`~framework.aop.AopExtension`
reads the marks at boot, validates them and weaves the matching beans.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from framework import marks
from framework.container.marks import BeanMark
from framework.errors import BootError

__all__ = [
    "AdviceKind",
    "AdviceMark",
    "AspectError",
    "AspectMark",
    "PointcutKind",
    "PointcutMark",
    "after",
    "after_returning",
    "after_throwing",
    "around",
    "aspect",
    "before",
    "point_annotation",
    "point_bean",
    "point_execution",
]

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])


class AspectError(BootError):
    """An aspect is declared wrongly, or it cannot weave a bean its pointcuts match."""


class AdviceKind(enum.Enum):
    """When an advice runs, relative to the advised method."""

    AROUND = "around"
    BEFORE = "before"
    AFTER = "after"
    AFTER_RETURNING = "after_returning"
    AFTER_THROWING = "after_throwing"


class PointcutKind(enum.Enum):
    """What a pointcut's patterns are matched against."""

    BEAN = "bean"
    EXECUTION = "execution"
    ANNOTATION = "annotation"


@dataclass(frozen=True, slots=True)
class AspectMark:
    """Recorded by :func:`aspect`: lower ``order`` runs outermost."""

    order: int = 0


@dataclass(frozen=True, slots=True)
class AdviceMark:
    """Recorded by the advice decorators on a method of an aspect."""

    kind: AdviceKind


@dataclass(frozen=True, slots=True)
class PointcutMark:
    """Recorded by the pointcut decorators on an aspect class; compiled at boot."""

    kind: PointcutKind
    include: tuple[Any, ...]
    exclude: tuple[Any, ...] = ()


@overload
def aspect(cls: C, /) -> C: ...
@overload
def aspect(*, order: int = 0) -> Callable[[C], C]: ...
def aspect(cls: C | None = None, /, *, order: int = 0) -> C | Callable[[C], C]:
    """Make a class an aspect: a singleton bean whose advice methods wrap matching beans.

    Which methods it advises is said by its pointcuts (:func:`point_bean`,
    :func:`point_execution`, :func:`point_annotation`; several are a union). When several
    aspects advise one method, the one with the lowest ``order`` is outermost; equal orders keep
    scan order. Aspects are never woven themselves.

    Returns:
        The class itself, unchanged.

    Raises:
        AspectError: at boot, when the aspect has no advice or no pointcut, an advice does not
            take ``(self, jp)``, or a pointcut pattern is invalid.

    Example::

        >>> from framework.aop import aspect, around, point_bean
        >>> @aspect(order=1)
        ... @point_bean(include=["*Service"])
        ... class Timing:
        ...     @around
        ...     def time(self, jp):
        ...         return jp.proceed()
    """
    mark = AspectMark(order)

    def record(target: C) -> C:
        marks.attach(target, mark)
        if marks.first(target, BeanMark) is None:
            marks.attach(target, BeanMark())
        return target

    return record(cls) if cls is not None else record


def _advice(kind: AdviceKind, fn: F) -> F:
    return marks.attach(fn, AdviceMark(kind))


def around(fn: F) -> F:
    """Run the decorated method *instead of* the advised call; it calls ``jp.proceed()``.

    It receives a :class:`~framework.aop.ProceedingJoinPoint`. ``jp.proceed()`` runs the
    ``before`` advices of the same aspect, then the rest of the chain (inner aspects, then the
    target) and returns its result; ``jp.proceed(*args, **kwargs)`` replaces the arguments.
    What the advice returns is the call's result; an advice that never proceeds short-circuits
    the call. To advise ``async def`` methods it must be ``async def`` and
    ``return await jp.proceed()``.

    Example::

        >>> from framework.aop import around
        >>> class Retry:
        ...     @around
        ...     def once_more(self, jp):
        ...         try:
        ...             return jp.proceed()
        ...         except ConnectionError:
        ...             return jp.proceed()
    """
    return _advice(AdviceKind.AROUND, fn)


def before(fn: F) -> F:
    """Run the decorated method (``(self, jp)``) just before the target, inside the arounds.

    Example::

        >>> from framework.aop import before
        >>> class Audit:
        ...     @before
        ...     def log(self, jp):
        ...         print("calling", jp.method.__name__, jp.args)
    """
    return _advice(AdviceKind.BEFORE, fn)


def after(fn: F) -> F:
    """Run the decorated method after the call, whether it returned or raised an ``Exception``.

    ``jp.return_value`` or ``jp.exception`` is already set. It runs before
    ``after_returning``/``after_throwing``.

    Example::

        >>> from framework.aop import after
        >>> class Audit:
        ...     @after
        ...     def done(self, jp):
        ...         print("done", jp.exception is None)
    """
    return _advice(AdviceKind.AFTER, fn)


def after_returning(fn: F) -> F:
    """Run the decorated method after the call returned; it reads ``jp.return_value``.

    It observes: what it returns is ignored. To change a result, use :func:`around`.

    Example::

        >>> from framework.aop import after_returning
        >>> class Audit:
        ...     @after_returning
        ...     def seen(self, jp):
        ...         print("returned", jp.return_value)
    """
    return _advice(AdviceKind.AFTER_RETURNING, fn)


def after_throwing(fn: F) -> F:
    """Run the decorated method after the call raised an ``Exception``; reads ``jp.exception``.

    It observes, and the exception then propagates (Swoft swallows it instead). To replace or
    suppress an exception, catch it in an :func:`around` advice.

    Example::

        >>> from framework.aop import after_throwing
        >>> class Audit:
        ...     @after_throwing
        ...     def failed(self, jp):
        ...         print("failed", repr(jp.exception))
    """
    return _advice(AdviceKind.AFTER_THROWING, fn)


def _patterns(value: Any | Iterable[Any]) -> tuple[Any, ...]:
    # A lone string is one pattern, not an iterable of one-letter patterns.
    if isinstance(value, str | type):
        return (value,)
    return tuple(value)


def _pointcut(kind: PointcutKind, include: Any, exclude: Any) -> Callable[[C], C]:
    return marks.recorder(PointcutMark(kind, _patterns(include), _patterns(exclude)))


def point_bean(
    include: str | Iterable[str], *, exclude: str | Iterable[str] = ()
) -> Callable[[C], C]:
    """Advise every public method of the beans whose class name or bean name matches a glob.

    Patterns are ``fnmatch`` globs, case-sensitive, matched against the class ``__name__`` and
    each bean name/alias. A bean matching an ``exclude`` glob is not advised by this pointcut.

    Raises:
        AspectError: at boot, when ``include`` is empty.

    Example::

        >>> from framework.aop import aspect, before, point_bean
        >>> @aspect
        ... @point_bean(include=["*Service"], exclude=["Legacy*"])
        ... class Audit:
        ...     @before
        ...     def log(self, jp): ...
    """
    return _pointcut(PointcutKind.BEAN, include, exclude)


def point_execution(
    include: str | Iterable[str], *, exclude: str | Iterable[str] = ()
) -> Callable[[C], C]:
    """Advise the methods whose ``module.Class.method`` path fully matches a regex.

    The path is built from the bean class (``cls.__module__``, ``cls.__qualname__``), even for
    a method it inherits. Patterns are matched with ``re.fullmatch``.

    Raises:
        AspectError: at boot, when ``include`` is empty or a pattern does not compile.

    Example::

        >>> from framework.aop import aspect, before, point_execution
        >>> @aspect
        ... @point_execution(include=[r"app\\.service\\..*\\.get_.*"])
        ... class Audit:
        ...     @before
        ...     def log(self, jp): ...
    """
    return _pointcut(PointcutKind.EXECUTION, include, exclude)


def point_annotation(
    include: type | Iterable[type], *, exclude: type | Iterable[type] = ()
) -> Callable[[C], C]:
    """Advise the bean methods that carry a mark of one of the given mark classes.

    A method matches when ``framework.marks.find(method, MarkClass)`` finds something (so
    subclasses of a mark class match too). This is how ``@transactional``-style decorators
    work: the decorator records a mark, an aspect points at the mark class.

    Raises:
        AspectError: at boot, when ``include`` is empty or holds something that is not a class.

    Example::

        >>> from dataclasses import dataclass
        >>> from framework.aop import aspect, around, point_annotation
        >>> @dataclass(frozen=True)
        ... class TransactionalMark:
        ...     pass
        >>> @aspect
        ... @point_annotation(include=[TransactionalMark])
        ... class Transactions:
        ...     @around
        ...     def run(self, jp):
        ...         return jp.proceed()
    """
    return _pointcut(PointcutKind.ANNOTATION, include, exclude)
