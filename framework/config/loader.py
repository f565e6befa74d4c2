"""Loading a config: ``.env``, ``config/*.py``, ``config/<APP_ENV>/*.py``, ``SWOOP_*``, overrides.

Each layer is deep-merged over the one before. Config files run with :func:`env` reading the
environment being loaded, so a test can pass ``environ=`` and never touch ``os.environ``.
"""

from __future__ import annotations

import contextvars
import importlib.util
import os
import re
import sys
import traceback
import types
import uuid
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn, TypeVar, overload

from dotenv import dotenv_values
from dotenv.variables import parse_variables

from framework.config.convert import ConfigError, convert_variable, with_article
from framework.config.settings import ENV_PREFIX, Config, KeyPath, Layer, Tree
from framework.errors import describe

__all__ = ["env", "load_config"]

T = TypeVar("T")
D = TypeVar("D")

_PLAIN_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_ABSENT: Final = object()


@dataclass(frozen=True, slots=True)
class _EnvView:
    """The environment config files see: real variables win over the ``.env`` file's."""

    environ: Mapping[str, str]
    dotenv: Mapping[str, str]

    def lookup(self, name: str) -> tuple[str, str] | None:
        """``(value, source)``; the source is ``"env NAME"`` or ``".env NAME"``."""
        if name in self.environ:
            return self.environ[name], f"env {name}"
        if name in self.dotenv:
            return self.dotenv[name], f".env {name}"
        return None

    def starting_with(self, prefix: str) -> list[tuple[str, str, str]]:
        """``(name, value, source)`` of every variable whose name starts with ``prefix``."""
        found = {name: (value, f".env {name}") for name, value in self.dotenv.items()}
        found.update({name: (value, f"env {name}") for name, value in self.environ.items()})
        return sorted((n, v, s) for n, (v, s) in found.items() if n.startswith(prefix))


_VIEW: contextvars.ContextVar[_EnvView | None] = contextvars.ContextVar(
    "framework.config.env_view", default=None
)


@overload
def env(name: str, default: Any = None, *, type: None = None) -> Any: ...
@overload
def env(name: str, *, type: type[T]) -> T | None: ...
@overload
def env(name: str, default: D, *, type: type[T]) -> T | D: ...
def env(name: str, default: Any = None, *, type: Any = None) -> Any:
    """Read the environment variable ``name``; meant for ``config/*.py`` files.

    While :func:`load_config` runs it sees the environment being loaded: the real one (or the
    ``environ`` argument) over the app's ``.env`` file. Elsewhere it reads ``os.environ``.
    ``default`` is returned as given when the variable is not set; with ``type``, the string
    is converted like :meth:`Config.get` does (``"8080"`` -> ``8080``, ``"yes"`` -> ``True``).

    Raises:
        ConfigError: the value cannot be converted to ``type``.

    Example (``config/db.py``)::

        from framework.config import env

        url = env("DATABASE_URL", "sqlite:///app.db")
        pool_size = env("DB_POOL_SIZE", 5, type=int)
    """
    view = _VIEW.get() or _EnvView(os.environ, {})
    found = view.lookup(name)
    if found is None:
        return default
    value, source = found
    return value if type is None else convert_variable(value, type, name=name, source=source)


def load_config(
    app_dir: str | os.PathLike[str],
    *,
    env: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Load the config of the app in ``app_dir`` (see docs/config.md for the layers).

    Args:
        app_dir: the directory holding ``.env`` and ``config/``.
        env: the overlay to apply, ``config/<env>/*.py``; default: ``APP_ENV``, if set.
        environ: the environment to read instead of ``os.environ`` (never modified).
        overrides: applied last, like :meth:`Config.merged`.

    Raises:
        ConfigError: ``app_dir`` is not a directory, a config file fails or defines
            ``config`` as something other than a dict, or a ``SWOOP_*`` variable does not fit.
    """
    root = _app_root(app_dir)
    real = dict(os.environ if environ is None else environ)
    view = _EnvView(real, _read_dotenv(root / ".env", real))
    overlay = _overlay_name(env, view)
    tree = Tree()
    layers = [Layer("files", "config")]
    token = _VIEW.set(view)
    try:
        _load_dir(tree, root, "config")
        if overlay:
            layers.append(Layer("files", f"config/{overlay}"))
            _load_dir(tree, root, f"config/{overlay}")
    finally:
        _VIEW.reset(token)
    _apply_environ(tree, view)
    layers.append(Layer("env", ENV_PREFIX))
    config = tree.freeze(tuple(layers))
    return config.merged(overrides) if overrides else config


def _app_root(app_dir: str | os.PathLike[str]) -> Path:
    root = Path(app_dir)
    if root.is_dir():
        return root
    problem = "is not a directory" if root.exists() else "does not exist"
    raise ConfigError(
        describe(
            [
                f"app directory {os.fspath(app_dir)!r} {problem}",
                "fix: pass the directory that holds .env and config/",
            ]
        )
    )


def _read_dotenv(path: Path, environ: dict[str, str]) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        raw = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeDecodeError) as exc:
        message = describe([f".env could not be read: {exc}", "fix: save .env as UTF-8 text"])
        raise ConfigError(message) from exc
    values: dict[str, str] = {}
    # ${VAR} is expanded here because python-dotenv would read os.environ, not `environ`.
    scope = ChainMap(environ, values)
    for name, value in raw.items():
        if value is not None:
            values[name] = "".join(atom.resolve(scope) for atom in parse_variables(value))
    return values


def _overlay_name(argument: str | None, view: _EnvView) -> str | None:
    if argument is not None:
        name, source = argument, "the env argument of load_config"
    else:
        found = view.lookup("APP_ENV")
        if found is None:
            return None
        name, source = found
    if not name or _PLAIN_NAME.fullmatch(name):
        return name or None
    raise ConfigError(
        describe(
            [
                f"APP_ENV {name!r} is not a plain name",
                f"from: {source}",
                "fix: use a name like 'prod', whose overrides live in config/prod/",
            ]
        )
    )


def _load_dir(tree: Tree, root: Path, rel: str) -> None:
    folder = root / rel
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith(("_", ".")) or not path.is_file():
            continue
        display = f"{rel}/{path.name}"
        if "." in path.stem:
            raise ConfigError(
                describe(
                    [
                        f"config file {display} has a dot in its name, so no dotted key "
                        f"can reach {path.stem!r}",
                        f"fix: rename it without dots, like {rel}/{path.stem.replace('.', '_')}.py",
                    ]
                )
            )
        tree.merge({path.stem: _section_of(path, display)}, display)


def _section_of(path: Path, display: str) -> dict[str, Any]:
    namespace = _execute(path, display)
    if "config" not in namespace:
        return {
            name: value
            for name, value in namespace.items()
            if not name.startswith("_") and not _is_code(value)
        }
    section = namespace["config"]
    if isinstance(section, (dict, types.MappingProxyType)):
        return dict(section)
    kind = with_article(type(section).__name__)
    raise ConfigError(
        describe(
            [
                f"config file {display} sets 'config' to {kind}, not a dict",
                "fix: make 'config' a dict of settings, or rename it",
            ]
        )
    )


def _is_code(value: Any) -> bool:
    # Imports and helpers are not settings; put them in a `config` dict to keep them.
    return isinstance(
        value, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)
    )


def _execute(path: Path, display: str) -> dict[str, Any]:
    name = f"_swoop_config_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None  # a path ending in .py always gets a spec
    module = importlib.util.module_from_spec(spec)
    # Listed only while it runs: dataclasses and typing look a class's module up there.
    sys.modules[name] = module
    try:
        # Compiled here rather than by spec.loader: no __pycache__ in the app's config/, and
        # no stale bytecode when a file is rewritten within the same second (reload, tests).
        code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        exec(code, module.__dict__)
    except ConfigError as exc:
        raise ConfigError(f"{exc}\n  in: {display}{_line_suffix(exc, path)}") from exc
    except Exception as exc:
        raise ConfigError(_failure(exc, path, display)) from exc
    finally:
        del sys.modules[name]
    return vars(module)


def _failure(exc: Exception, path: Path, display: str) -> str:
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    lines = [f"config file {display} raised {type(exc).__name__}: {detail}"]
    suffix = _line_suffix(exc, path)
    if suffix:
        lines.append(f"at: {display}{suffix}")
    lines.append(f"fix: correct {display}; the original error is chained above")
    return describe(lines)


def _line_suffix(exc: BaseException, path: Path) -> str:
    if isinstance(exc, SyntaxError) and exc.filename == str(path):
        return f", line {exc.lineno}"
    lines = [
        line
        for frame, line in traceback.walk_tb(exc.__traceback__)
        if frame.f_code.co_filename == str(path)
    ]
    return f", line {lines[-1]}" if lines else ""


def _apply_environ(tree: Tree, view: _EnvView) -> None:
    for name, value, source in view.starting_with(ENV_PREFIX):
        nested: Any = value
        for key in reversed(_env_path(tree, name, source)):
            nested = {key: nested}
        tree.merge(nested, source)


def _env_path(tree: Tree, name: str, source: str) -> KeyPath:
    """The key ``SWOOP_A__B`` names: parts matched case-insensitively, new parts lowercased."""
    parts = name[len(ENV_PREFIX) :].split("__")
    if not all(parts):
        fix = f"separate keys with two underscores, like {ENV_PREFIX}SERVER__PORT"
        _variable_error(source, "does not name a config key", None, fix)
    node: Any = tree.data
    path: list[Any] = []
    for part in parts:
        if not isinstance(node, dict):
            if node is not _ABSENT:
                where = ".".join(map(str, path))
                problem = f"sets a key inside {where!r}, which is a value, not a section"
                fix = f"set {ENV_PREFIX}{'__'.join(parts[: len(path)])} instead"
                _variable_error(source, problem, tree.source_of(tuple(path)), fix)
            path.append(part.lower())
            continue
        key = _match(node, part)
        path.append(key)
        node = node.get(key, _ABSENT)
    if isinstance(node, dict):
        where = ".".join(map(str, path))
        problem = f"would replace the section {where!r} with a string"
        fix = f"set one key inside it instead, like {name}__{str(next(iter(node), 'key')).upper()}"
        _variable_error(source, problem, tree.source_of(tuple(path)), fix)
    return tuple(path)


def _match(node: dict[Any, Any], part: str) -> Any:
    if part in node:
        return part
    lower = part.lower()
    matches = [key for key in node if isinstance(key, str) and key.lower() == lower]
    return lower if not matches or lower in matches else matches[0]


def _variable_error(source: str, problem: str, origin: str | None, fix: str) -> NoReturn:
    lines = [f"{source} {problem}", *([f"from: {origin}"] if origin else []), f"fix: {fix}"]
    raise ConfigError(describe(lines))
