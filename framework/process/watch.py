"""``--watch``: a rolling reload whenever a file under ``app/`` or ``config/`` changes.

The master watches (with watchfiles) and never imports the app; the changed files are
logged, then the workers are replaced one by one as for ``appctl <server>:reload``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

__all__ = ["WATCHED", "watch"]

log = logging.getLogger("swoop.master")

#: What ``--watch`` watches, relative to the app directory.
WATCHED = ("app", "config", ".env")


async def watch(
    app_dir: Path, on_change: Callable[[list[str]], Awaitable[None]], stop: asyncio.Event
) -> None:
    """Call ``on_change`` with the changed paths (relative to ``app_dir``) until ``stop``."""
    from watchfiles import DefaultFilter, awatch

    paths = [app_dir / name for name in WATCHED if (app_dir / name).exists()]
    if not paths:
        log.warning("--watch: none of %s exists in %s; nothing to watch", WATCHED, app_dir)
        return
    log.info("watching %s for changes", ", ".join(p.name for p in paths))
    async for changes in awatch(*paths, watch_filter=DefaultFilter(), stop_event=stop):
        files = sorted({_relative(Path(path), app_dir) for _, path in changes})
        await on_change(files)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
