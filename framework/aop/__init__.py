"""Aspect-oriented programming: aspects whose advices wrap the methods of container beans.

Declare an aspect with :func:`aspect`, say what it advises with :func:`point_bean`,
:func:`point_execution` and :func:`point_annotation`, and write its advices with
:func:`around`, :func:`before`, :func:`after`, :func:`after_returning` and
:func:`after_throwing`. :class:`AopExtension` (a default extension) weaves at boot.
See docs/aop.md.
"""

from framework.aop.extension import AopExtension, AspectWeaver
from framework.aop.joinpoint import JoinPoint, ProceedingJoinPoint
from framework.aop.marks import (
    AdviceKind,
    AdviceMark,
    AspectError,
    AspectMark,
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
from framework.aop.weaving import AspectDefinition

__all__ = [
    "AdviceKind",
    "AdviceMark",
    "AopExtension",
    "AspectDefinition",
    "AspectError",
    "AspectMark",
    "AspectWeaver",
    "JoinPoint",
    "PointcutKind",
    "PointcutMark",
    "ProceedingJoinPoint",
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
