"""Pointcuts: which bean methods an aspect advises, compiled once at boot.

A candidate is a public function defined on the bean class or one of its bases (not a dunder
or ``_private`` name, not a static/class method or property). A pointcut matches it when one
of its ``include`` patterns matches and none of its ``exclude`` patterns does; an aspect with
several pointcuts advises the union of what they match.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from framework import marks
from framework.aop.marks import AspectError, PointcutKind, PointcutMark
from framework.container.definitions import BeanDefinition
from framework.errors import describe

__all__ = ["MethodSite", "Pointcut", "candidates", "compile_pointcut"]


@dataclass(frozen=True, slots=True)
class MethodSite:
    """A candidate method of a bean, as the pointcuts see it."""

    bean: BeanDefinition
    name: str
    function: Callable[..., Any]

    @property
    def path(self) -> str:
        """``module.Class.method`` of the bean class (what ``point_execution`` matches)."""
        cls = self.bean.cls
        return f"{cls.__module__}.{cls.__qualname__}.{self.name}"


def candidates(bean: BeanDefinition) -> Iterator[MethodSite]:
    """The methods of ``bean`` that aspects may advise, most-derived definition first."""
    seen: set[str] = set()
    for klass in bean.cls.__mro__:
        if klass is object:
            continue
        for name, value in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)  # an override hides its base's definition, as attribute lookup does
            if not name.startswith("_") and inspect.isfunction(value):
                yield MethodSite(bean, name, value)


class Pointcut(Protocol):
    """A compiled pointcut."""

    def matches(self, site: MethodSite) -> bool: ...


@dataclass(frozen=True, slots=True)
class BeanPointcut:
    """Globs on the bean class ``__name__`` and on the bean's names."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def matches(self, site: MethodSite) -> bool:
        names = (site.bean.cls.__name__, *site.bean.names)
        return _any_glob(self.include, names) and not _any_glob(self.exclude, names)


@dataclass(frozen=True, slots=True)
class ExecutionPointcut:
    """Regexes fully matching ``module.Class.method``."""

    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]

    def matches(self, site: MethodSite) -> bool:
        path = site.path
        return any(p.fullmatch(path) for p in self.include) and not any(
            p.fullmatch(path) for p in self.exclude
        )


@dataclass(frozen=True, slots=True)
class AnnotationPointcut:
    """Mark classes found on the method itself."""

    include: tuple[type, ...]
    exclude: tuple[type, ...]

    def matches(self, site: MethodSite) -> bool:
        found = marks.marks_of(site.function)
        return _any_mark(self.include, found) and not _any_mark(self.exclude, found)


def _any_glob(patterns: tuple[str, ...], names: tuple[str, ...]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns for name in names)


def _any_mark(kinds: tuple[type, ...], found: tuple[object, ...]) -> bool:
    return any(isinstance(mark, kinds) for mark in found)


_EXAMPLES = {
    PointcutKind.BEAN: "@point_bean(include=['*Service'])",
    PointcutKind.EXECUTION: r"@point_execution(include=[r'app\.service\..*\.get_.*'])",
    PointcutKind.ANNOTATION: "@point_annotation(include=[TransactionalMark])",
}


def compile_pointcut(mark: PointcutMark, aspect: type, location: str) -> Pointcut:
    """Check and compile one pointcut mark of ``aspect`` (declared at ``location``).

    Raises:
        AspectError: ``include`` is empty, a pattern has the wrong type, or a regex does not
            compile.
    """
    where = f"aspect {aspect.__qualname__}: @point_{mark.kind.value}"
    if not mark.include:
        raise AspectError(
            describe(
                [
                    f"{where} has no include pattern, so it matches nothing",
                    f"at: {location}",
                    f"fix: give it what to advise, e.g. {_EXAMPLES[mark.kind]}",
                ]
            )
        )
    for entry in (*mark.include, *mark.exclude):
        _check_entry(mark.kind, entry, where, location)
    if mark.kind is PointcutKind.BEAN:
        return BeanPointcut(mark.include, mark.exclude)
    if mark.kind is PointcutKind.ANNOTATION:
        return AnnotationPointcut(mark.include, mark.exclude)
    include = tuple(_regex(p, where, location) for p in mark.include)
    exclude = tuple(_regex(p, where, location) for p in mark.exclude)
    return ExecutionPointcut(include, exclude)


def _check_entry(kind: PointcutKind, entry: object, where: str, location: str) -> None:
    if kind is PointcutKind.ANNOTATION:
        if isinstance(entry, type):
            return
        problem, fix = "is not a mark class", "pass the mark classes themselves"
    else:
        if isinstance(entry, str):
            return
        problem, fix = "is not a string pattern", "pass patterns as strings"
    raise AspectError(
        describe(
            [
                f"{where} entry {entry!r} {problem}",
                f"at: {location}",
                f"fix: {fix}, e.g. {_EXAMPLES[kind]}",
            ]
        )
    )


def _regex(pattern: str, where: str, location: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise AspectError(
            describe(
                [
                    f"{where} pattern {pattern!r} is not a valid regular expression: {exc}",
                    f"at: {location}",
                    "fix: correct the pattern; it must fully match 'module.Class.method', "
                    r"e.g. r'app\.service\..*\.get_.*'",
                ]
            )
        ) from None
