"""Swoop: a decorator-driven, full-stack microframework.

Decorators record marks; ``Application.boot`` scans the app packages, builds the container,
weaves aspects and compiles the route tables; ``appctl`` serves it.
"""

from framework.aop import (
    AspectError,
    JoinPoint,
    ProceedingJoinPoint,
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
from framework.application import Application
from framework.container import (
    AmbiguousBeanError,
    BeanDefinition,
    BeanNotFoundError,
    CircularDependencyError,
    Container,
    Extension,
    Named,
    Provider,
    ScanContext,
    Scope,
    ScopeWideningError,
    bean,
    config_value,
    inject,
)
from framework.errors import BootError, FrameworkError
from framework.events import Event, EventManager, listener

__version__ = "0.1.0"

__all__ = [
    "AmbiguousBeanError",
    "Application",
    "AspectError",
    "BeanDefinition",
    "BeanNotFoundError",
    "BootError",
    "CircularDependencyError",
    "Container",
    "Event",
    "EventManager",
    "Extension",
    "FrameworkError",
    "JoinPoint",
    "Named",
    "ProceedingJoinPoint",
    "Provider",
    "ScanContext",
    "Scope",
    "ScopeWideningError",
    "__version__",
    "after",
    "after_returning",
    "after_throwing",
    "around",
    "aspect",
    "bean",
    "before",
    "config_value",
    "inject",
    "listener",
    "point_annotation",
    "point_bean",
    "point_execution",
]
