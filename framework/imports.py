"""Import an object named by a string: ``"package.module:Name"`` (or ``"package.module.Name"``).

Config names classes this way (extensions, middleware, ...); each caller wraps the failure in
its own error, saying where the name was declared.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["import_string"]


def import_string(spec: str) -> Any:
    """The object ``spec`` names.

    Raises:
        ImportError: the module cannot be imported, or has no such attribute (chained), or
            ``spec`` is not of the form ``module:Name`` / ``module.Name``.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep:
        module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise ImportError(f"{spec!r} is not of the form 'package.module:Name'")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise ImportError(f"module {module_name!r} has no attribute {attr!r}") from exc
