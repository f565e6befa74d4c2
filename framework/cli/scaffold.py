"""``create:app``: copy the skeleton (``common/`` then one overlay per server kind) into a
new directory, replacing ``{{name}}`` and the other placeholders in file contents and names.

The skeleton ships inside the wheel as ``framework/_skeleton``; in a source checkout it is
the repository's ``skeleton/`` folder.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import framework
from framework.errors import describe
from framework.process.errors import ProcessError
from framework.process.kinds import APP_TYPES, KINDS

__all__ = ["ScaffoldError", "create_app", "skeleton_root"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_SKIPPED = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


class ScaffoldError(ProcessError):
    """The app cannot be created: bad name, unavailable type, or the directory is taken."""


def skeleton_root() -> Path:
    """The skeleton directory (installed, or the source checkout's).

    Raises:
        ScaffoldError: neither exists (a broken installation).
    """
    package = Path(framework.__file__).resolve().parent
    for candidate in (package / "_skeleton", package.parent / "skeleton"):
        if (candidate / "common").is_dir():
            return candidate
    raise ScaffoldError(
        describe(
            [
                "the application skeleton is missing from this Swoop installation",
                f"looked in: {package / '_skeleton'}, {package.parent / 'skeleton'}",
                "fix: reinstall swoop-framework",
            ]
        )
    )


def _check_type(app_type: str, root: Path) -> tuple[str, ...]:
    if app_type not in APP_TYPES:
        raise ScaffoldError(
            f"unknown app type {app_type!r}\n  fix: use one of {', '.join(APP_TYPES)}"
        )
    kinds = APP_TYPES[app_type]
    missing = [k for k in kinds if not KINDS[k].available or not (root / k).is_dir()]
    if missing:
        ready = [t for t, ks in APP_TYPES.items() if all(_ready(k, root) for k in ks)]
        raise ScaffoldError(
            describe(
                [
                    f"cannot create a {app_type!r} app: the "
                    f"{', '.join(KINDS[k].title for k in missing)} server is not available "
                    "in this version of Swoop yet",
                    f"available types: {', '.join(ready) or 'none'}",
                    "fix: choose an available --type (you can add servers to the app later)",
                ]
            )
        )
    return kinds


def _ready(kind: str, root: Path) -> bool:
    return KINDS[kind].available and (root / kind).is_dir()


def create_app(dest: Path, name: str, app_type: str, *, force: bool = False) -> list[Path]:
    """Create the app ``name`` of ``app_type`` in ``dest``; return the files written.

    Raises:
        ScaffoldError: the name is not usable, the type is not available, or ``dest``
            exists and is not empty (without ``force``).
    """
    if not _NAME.fullmatch(name):
        raise ScaffoldError(
            describe(
                [
                    f"app name {name!r} is not usable",
                    "fix: start with a letter; use letters, digits, '-' and '_' only",
                ]
            )
        )
    root = skeleton_root()
    kinds = _check_type(app_type, root)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())) and not force:
        raise ScaffoldError(
            describe(
                [
                    f"{dest} already exists and is not empty",
                    "fix: choose another name, or pass --force to write over it",
                ]
            )
        )
    values = _placeholders(name, app_type, kinds)
    written: list[Path] = []
    for overlay in (root / "common", *(root / k for k in kinds)):
        written.extend(_copy_tree(overlay, dest, values))
    return sorted(set(written))


def _placeholders(name: str, app_type: str, kinds: tuple[str, ...]) -> dict[str, str]:
    main = KINDS[kinds[0]]
    return {
        "name": name,
        "package": re.sub(r"\W", "_", name).lower(),
        "type": app_type,
        "server": main.name,
        "SERVER": main.name.upper(),
        "port": str(main.default_port),
        "swoop_version": framework.__version__,
    }


def _copy_tree(source: Path, dest: Path, values: Mapping[str, str]) -> list[Path]:
    written: list[Path] = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in _SKIPPED for part in relative.parts) or path.suffix in (".pyc", ".pyo"):
            continue
        target = dest / _substitute(str(relative), values)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            target.write_bytes(data)
        else:
            target.write_text(_substitute(text, values), encoding="utf-8")
        shutil.copymode(path, target)
        written.append(target)
    return written


def _substitute(text: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), text)
