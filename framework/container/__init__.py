"""The IoC container: beans, injection, scopes, and the extension seam."""

from framework.container.container import Container
from framework.container.definitions import BeanDefinition
from framework.container.dependencies import Provider
from framework.container.errors import (
    AmbiguousBeanError,
    BeanNotFoundError,
    CircularDependencyError,
    DuplicateBeanError,
    InjectionError,
    NoRequestScopeError,
    ScopeWideningError,
)
from framework.container.extension import BeanPostProcessor, Extension, ScanContext, ScanResult
from framework.container.marks import (
    BeanDeclarationError,
    BeanMark,
    Named,
    Scope,
    bean,
    config_value,
    inject,
)
from framework.container.scanner import ScanError, scan_classes, scan_packages
from framework.container.scopes import RequestScope

__all__ = [
    "AmbiguousBeanError",
    "BeanDeclarationError",
    "BeanDefinition",
    "BeanMark",
    "BeanNotFoundError",
    "BeanPostProcessor",
    "CircularDependencyError",
    "Container",
    "DuplicateBeanError",
    "Extension",
    "InjectionError",
    "Named",
    "NoRequestScopeError",
    "Provider",
    "RequestScope",
    "ScanContext",
    "ScanError",
    "ScanResult",
    "Scope",
    "ScopeWideningError",
    "bean",
    "config_value",
    "inject",
    "scan_classes",
    "scan_packages",
]
