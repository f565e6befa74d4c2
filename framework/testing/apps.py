"""Build applications for tests and make sure they are shut down."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from framework.application import Application
from framework.config import Config
from framework.container.extension import Extension

__all__ = ["AppFactory"]


class AppFactory:
    """Builds applications from classes or packages and shuts down the started ones.

    The ``swoop_apps`` fixture yields one and closes it after the test.
    """

    def __init__(self) -> None:
        self._apps: list[Application] = []

    def from_classes(
        self,
        *objects: Any,
        config: Config | Mapping[str, Any] | None = None,
        overrides: Mapping[Any, Any] | None = None,
        extensions: Iterable[Extension | str] = (),
    ) -> Application:
        app = Application.from_classes(
            *objects, config=config, overrides=overrides, extensions=extensions
        )
        self._apps.append(app)
        return app

    def boot(
        self,
        packages: Iterable[str] | None = None,
        *,
        app_dir: str | None = None,
        config: Config | Mapping[str, Any] | None = None,
        overrides: Mapping[Any, Any] | None = None,
    ) -> Application:
        app = Application.boot(packages, app_dir=app_dir, config=config, overrides=overrides)
        self._apps.append(app)
        return app

    async def aclose(self) -> None:
        """Shut down every application this factory built that is still started."""
        while self._apps:
            await self._apps.pop().shutdown()
