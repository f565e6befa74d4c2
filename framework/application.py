"""The boot pipeline: scan → extensions read marks → build the container → compile → freeze."""

from __future__ import annotations

import logging
import os
import sys
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from framework import marks
from framework.config import Config, load_config
from framework.container.container import Container
from framework.container.definitions import BeanDefinition, definition_from_class
from framework.container.extension import Extension, ScanContext, ScanResult
from framework.container.marks import BeanMark
from framework.container.planning import Index
from framework.container.scanner import scan_classes, scan_packages
from framework.container.scopes import RequestScope
from framework.errors import BootError, FrameworkError, describe
from framework.events.lifecycle import APP_BOOT_AFTER, APP_SHUTDOWN, APP_STARTUP
from framework.events.manager import EventManager
from framework.imports import import_string

__all__ = ["DEFAULT_EXTENSIONS", "Application"]

E = TypeVar("E", bound=Extension)
log = logging.getLogger("swoop.app")

#: Extensions every application gets, as ``"module:Class"``; imported at boot, not at import.
DEFAULT_EXTENSIONS: tuple[str, ...] = (
    "framework.events:EventsExtension",
    "framework.aop:AopExtension",
    "framework.http:HttpExtension",
)


def _load_extension(spec: str) -> Extension:
    try:
        factory = import_string(spec)
    except ImportError as exc:
        raise BootError(
            describe(
                [
                    f"cannot load extension {spec!r}: {exc}",
                    "fix: name it as 'package.module:ClassName', importable from the app",
                ]
            )
        ) from exc
    extension = factory()
    if not isinstance(extension, Extension):
        raise BootError(f"extension {spec!r} is not a framework.Extension subclass instance.")
    return extension


def _unique(extensions: list[Extension]) -> list[Extension]:
    """One extension per type: a later instance (given by the caller) replaces an earlier
    default one in its place, so ``extensions=[HttpExtension(...)]`` configures, not doubles."""
    by_type: dict[type, int] = {}
    found: list[Extension] = []
    for extension in extensions:
        index = by_type.get(type(extension))
        if index is None:
            by_type[type(extension)] = len(found)
            found.append(extension)
        else:
            found[index] = extension
    return found


def _as_config(config: Config | Mapping[str, Any] | None) -> Config:
    if isinstance(config, Config):
        return config
    return Config.from_mapping(config or {})


class Application:
    """One booted application: its config, container, events and extensions.

    Build it with :meth:`boot` (scan packages) or :meth:`from_classes` (given classes); two
    applications in one process share nothing. After boot the application is frozen.
    ``async with app:`` runs :meth:`startup` and :meth:`shutdown`.
    """

    def __init__(self, config: Config, extensions: Sequence[Extension], scan: ScanResult) -> None:
        self.config = config
        self.scan = scan
        self.extensions = tuple(extensions)
        self.app_dir: Path | None = None
        self.container: Container
        self._started = False
        self._by_type = {type(e): e for e in self.extensions}

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def boot(
        cls,
        packages: Iterable[str] | None = None,
        *,
        app_dir: str | os.PathLike[str] | None = None,
        config: Config | Mapping[str, Any] | None = None,
        extensions: Iterable[Extension | str] = (),
        overrides: Mapping[Any, Any] | None = None,
        env: str | None = None,
    ) -> Application:
        """Scan ``packages`` (default: config ``app.packages``, else ``["app"]``) and boot.

        With ``app_dir``, config is loaded from it (``.env``, ``config/*.py``) unless given,
        and the directory is put first on ``sys.path`` so its packages import.

        Raises:
            ScanError: a module failed to import (file, line and the original error).
            BootError: validation or construction failed (subclasses say which).
            ConfigError: the config could not be loaded or a value has the wrong type.
        """
        if app_dir is not None:
            root = str(Path(app_dir).resolve())
            if root not in sys.path:
                sys.path.insert(0, root)
            if config is None:
                config = load_config(root, env=env)
        settings = _as_config(config)
        names = list(packages or settings.get("app.packages", ["app"], type=list[str]))
        root_dir = Path(app_dir).resolve() if app_dir is not None else None
        return cls._boot(scan_packages(names), settings, extensions, overrides, root_dir)

    @classmethod
    def from_classes(
        cls,
        *objects: Any,
        config: Config | Mapping[str, Any] | None = None,
        extensions: Iterable[Extension | str] = (),
        overrides: Mapping[Any, Any] | None = None,
    ) -> Application:
        """Boot an application made of the given classes and functions (tests, scripts).

        Raises:
            BootError: as :meth:`boot`.
        """
        return cls._boot(scan_classes(objects), _as_config(config), extensions, overrides)

    @classmethod
    def _boot(
        cls,
        scan: ScanResult,
        config: Config,
        extra: Iterable[Extension | str],
        overrides: Mapping[Any, Any] | None,
        app_dir: Path | None = None,
    ) -> Application:
        specs: list[Extension | str] = [*DEFAULT_EXTENSIONS, *config.get("app.extensions", [])]
        specs.extend(extra)
        extensions = _unique([_load_extension(s) if isinstance(s, str) else s for s in specs])
        app = cls(config, extensions, scan)
        app.app_dir = app_dir
        ctx = ScanContext(scan, config, app._definitions(scan))
        for extension in extensions:
            extension.scanned(ctx)
        _apply_overrides(ctx.definitions, overrides or {})
        modules = config.get("beans.modules", [])
        app.container = Container(
            ctx.definitions, config=config, post_processors=ctx.post_processors, modules=modules
        )
        app.container.build()
        for extension in extensions:
            extension.built(app)
        app.container.freeze()
        app.events.emit(APP_BOOT_AFTER, app)
        return app

    def _definitions(self, scan: ScanResult) -> list[BeanDefinition]:
        found = [definition_from_class(c, _bean_mark(c)) for c in scan.classes if _is_bean(c)]
        found.append(BeanDefinition("config", Config, instance=self.config, has_instance=True))
        found.append(BeanDefinition("application", Application, instance=self, has_instance=True))
        for key, value in dict(self.config.get("beans.definitions", {})).items():
            found.append(_configured_bean(key, value))
        return found

    # -- use --------------------------------------------------------------------------------

    @property
    def events(self) -> EventManager:
        """The application's event manager (also injectable as a bean)."""
        return self.container.get(EventManager)

    def extension(self, kind: type[E]) -> E:
        """The instance of extension ``kind`` this application booted with.

        Raises:
            FrameworkError: the application has no such extension.
        """
        found = self._by_type.get(kind)
        if found is None:
            found = next((e for e in self.extensions if isinstance(e, kind)), None)
        if found is None:
            raise FrameworkError(
                f"this application has no {kind.__name__}; add it with "
                f"Application.boot(extensions=[{kind.__name__}()]) or config app.extensions"
            )
        return found  # type: ignore[return-value]

    def request_scope(self) -> RequestScope:
        """Open a request scope (``with`` / ``async with``) for scripts, tasks and tests."""
        return self.container.request_scope()

    async def startup(self) -> None:
        """Run async singleton ``init()`` hooks, then extension startup hooks. Idempotent."""
        if self._started:
            return
        self._started = True
        await self.container.startup()
        for extension in self.extensions:
            await extension.startup(self)
        await self.events.aemit(APP_STARTUP, self)

    async def shutdown(self) -> None:
        """Emit ``app.shutdown``, run extension shutdown hooks in reverse, tear beans down."""
        if not self._started:
            return
        self._started = False
        try:
            await self.events.aemit(APP_SHUTDOWN, self)
            for extension in reversed(self.extensions):
                await extension.shutdown(self)
        finally:
            await self.container.aclose()

    @property
    def started(self) -> bool:
        return self._started

    async def __aenter__(self) -> Application:
        await self.startup()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.shutdown()


def _is_bean(cls: type) -> bool:
    return marks.first(cls, BeanMark) is not None


def _bean_mark(cls: type) -> BeanMark:
    """The mark that declares ``cls``: an explicit ``@bean(...)`` wins over the default mark a
    bean-making decorator (``@controller``, ``@aspect``) adds, wherever it is in the stack."""
    found = marks.find(cls, BeanMark)
    explicit = [m for m in found if m != BeanMark()]
    return explicit[-1] if explicit else found[0]


def _configured_bean(key: Any, value: Any) -> BeanDefinition:
    """A bean from config/beans.py ``definitions = {Type: Class | factory | instance}``."""
    name = key if isinstance(key, str) else None
    provides = key if isinstance(key, type) else type(value)
    if callable(value) and not isinstance(value, type) and not isinstance(key, type):
        provides = typing.get_type_hints(value).get("return", provides)
    if isinstance(value, type):
        definition = definition_from_class(value, marks.first(value, BeanMark))
    elif callable(value):
        definition = BeanDefinition(name or value.__name__, provides, factory=value)
    else:
        definition = BeanDefinition(name or "", provides, instance=value, has_instance=True)
    if name:
        definition.name = name
    elif not definition.name:
        definition.name = f"{provides.__module__}.{provides.__qualname__}"
    definition.location = "config/beans.py"
    return definition


def _apply_overrides(definitions: list[BeanDefinition], overrides: Mapping[Any, Any]) -> None:
    if not overrides:
        return
    index = Index(definitions)
    for key, value in overrides.items():
        if isinstance(key, str):
            target = index.by_name.get(key)
        else:
            candidates = index.candidates(key)
            target = index.select(key, candidates) if candidates else None
        if target is None:
            name = key if isinstance(key, str) else getattr(key, "__qualname__", repr(key))
            raise BootError(
                describe(
                    [
                        f"override for {name} matches no bean",
                        "fix: override a type or name that a @bean provides",
                    ]
                )
            )
        target.instance, target.has_instance, target.factory = value, True, None
