"""What a test needs from the machine: system binaries and optional packages.

On a developer machine a missing one skips the test with the command that installs it; under
CI (``CI`` set to a true value) it fails the test instead, so a green CI run never hides a
check that did not run.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType
from typing import NoReturn

import pytest

__all__ = ["require_binary", "require_module"]


def _missing(what: str, fix: str) -> NoReturn:
    message = f"{what} is not installed; fix: {fix}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run this test: {message}", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_binary(name: str, *, apt: str | None = None) -> str:
    """The path of ``name`` on PATH (skip, or fail under CI, when it is missing)."""
    found = shutil.which(name)
    if found is None:
        _missing(f"the program {name!r}", f"apt-get install {apt or name}")
    return found


def require_module(name: str, *, pip: str | None = None) -> ModuleType:
    """The imported module ``name`` (skip, or fail under CI, when it is not installed)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"the Python module {name!r}", f"pip install {pip or name.split('.')[0]}")
