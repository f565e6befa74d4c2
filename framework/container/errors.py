"""Errors the container raises at boot and on resolution."""

from __future__ import annotations

from framework.errors import BootError, FrameworkError

__all__ = [
    "AmbiguousBeanError",
    "BeanNotFoundError",
    "CircularDependencyError",
    "DuplicateBeanError",
    "InjectionError",
    "NoRequestScopeError",
    "ScopeWideningError",
]


class InjectionError(BootError):
    """A bean or function cannot be injected as declared (no type hint, bad forward ref)."""


class BeanNotFoundError(BootError, LookupError):
    """No bean provides a requested type or name."""


class AmbiguousBeanError(BootError, LookupError):
    """Several beans provide a requested type and none of them is primary."""


class CircularDependencyError(BootError):
    """Beans depend on each other in a cycle through their constructors."""


class ScopeWideningError(BootError):
    """A longer-lived bean depends on a shorter-lived one (a singleton on a request bean)."""


class DuplicateBeanError(BootError):
    """Two beans claim the same name or alias."""


class NoRequestScopeError(FrameworkError):
    """A request-scoped bean was resolved outside any request scope."""
