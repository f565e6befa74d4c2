"""Import every module of the app packages and collect what they define.

The scanner imports, it never registers: decorators already recorded their marks, and the
extensions read them from the :class:`ScanResult`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import traceback
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from framework.container.extension import ScanResult
from framework.errors import BootError, describe

__all__ = ["ScanError", "scan_classes", "scan_packages"]


class ScanError(BootError):
    """A module of the app could not be imported, or a package to scan does not exist."""


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name or (exc.name and name.startswith(exc.name + ".")):
            raise ScanError(
                describe(
                    [
                        f"cannot scan package {name!r}: no such module",
                        f"searched: {', '.join(p for p in sys.path[:4] if p) or '(sys.path)'}",
                        "fix: run from the app directory (appctl -C DIR), or set app.packages "
                        "in config/app.py",
                    ]
                )
            ) from exc
        raise _import_failed(name, exc) from exc
    except Exception as exc:
        raise _import_failed(name, exc) from exc


def _import_failed(name: str, exc: BaseException) -> ScanError:
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f for f in reversed(frames) if "importlib" not in f.filename), None)
    if isinstance(exc, SyntaxError) and exc.filename:
        location = f"{exc.filename}:{exc.lineno}"
    elif where is not None:
        location = f"{where.filename}:{where.lineno}"
    else:
        location = name
    return ScanError(
        describe(
            [
                f"module {name!r} failed to import: {type(exc).__name__}: {exc}",
                f"at: {location}",
                "fix: correct the error above; the scanner imports every module under the "
                "app packages",
            ]
        )
    )


def _modules(package: str) -> list[ModuleType]:
    root = _import(package)
    found = [root]
    paths = getattr(root, "__path__", None)
    if paths is None:
        return found
    for info in sorted(pkgutil.walk_packages(paths, prefix=package + "."), key=lambda i: i.name):
        # walk_packages imports sub-packages itself to find their children; importing each
        # name again through _import gives every failure the same message.
        found.append(_import(info.name))
    return found


def _defined_in(module: ModuleType) -> tuple[list[type], list[Any]]:
    classes: list[type] = []
    functions: list[Any] = []
    for value in vars(module).values():
        if getattr(value, "__module__", None) != module.__name__:
            continue  # imported names are collected where they are defined
        if inspect.isclass(value):
            classes.append(value)
        elif inspect.isfunction(value):
            functions.append(value)
    return classes, functions


def scan_packages(packages: Iterable[str]) -> ScanResult:
    """Import every module under ``packages`` and collect the classes and functions defined there.

    Raises:
        ScanError: a package does not exist, or a module raised while importing (the message
            names the module, the file and line, and the original error).
    """
    modules: list[ModuleType] = []
    for package in packages:
        for module in _modules(package):
            if module not in modules:
                modules.append(module)
    classes: list[type] = []
    functions: list[Any] = []
    for module in modules:
        found_classes, found_functions = _defined_in(module)
        classes.extend(found_classes)
        functions.extend(found_functions)
    return ScanResult(tuple(m.__name__ for m in modules), tuple(classes), tuple(functions))


def scan_classes(objects: Iterable[Any]) -> ScanResult:
    """A scan result made of the given classes and functions (tests, scripts, small apps)."""
    classes = tuple(o for o in objects if inspect.isclass(o))
    functions = tuple(o for o in objects if not inspect.isclass(o))
    return ScanResult((), classes, functions)
