"""Static files from the app's ``public/`` directory, served when no route matches.

A request path maps to a file only if it stays inside the directory: ``..`` segments
(including percent-encoded ones, which the server decodes before we see the path),
backslashes, NUL bytes, and symlinks resolving outside the directory all give 404. A directory
serves its ``index.html``.

Files answer conditional and range requests (``ETag``/``Last-Modified`` validators, 304,
412, 206, 416; see :class:`~framework.http.responses.FileResponse`), evaluated here, before
middleware sees the response, so that an access log shows the status actually sent.
"""

from __future__ import annotations

import os
import stat as stat_module
from pathlib import Path

from framework.http.headers import Headers
from framework.http.responses import FileResponse

__all__ = ["StaticFiles"]


class StaticFiles:
    """Maps request paths to files under ``directory``.

    Args:
        directory: the root; resolved (symlinks included) once, at boot.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = os.path.realpath(directory)

    def exists(self) -> bool:
        return os.path.isdir(self.directory)

    def lookup(self, path: str) -> tuple[str, os.stat_result] | None:
        """The real file path and its stat for the decoded request ``path``, or ``None``."""
        if "\x00" in path or "\\" in path:
            return None
        segments = [s for s in path.split("/") if s not in ("", ".")]
        if any(s == ".." for s in segments):
            return None
        candidate = os.path.realpath(os.path.join(self.directory, *segments))
        if candidate != self.directory and not candidate.startswith(self.directory + os.sep):
            return None  # a symlink pointing outside the directory
        try:
            found = os.stat(candidate)
        except (OSError, ValueError):
            return None
        if stat_module.S_ISDIR(found.st_mode):
            return self.lookup(path.rstrip("/") + "/index.html")
        if not stat_module.S_ISREG(found.st_mode):
            return None
        return candidate, found

    def response(
        self, path: str, method: str = "GET", headers: Headers | None = None
    ) -> FileResponse | None:
        """A :class:`FileResponse` for ``path``, or ``None`` when no file may be served.

        With the request's ``headers``, its conditional and range headers are answered now
        (the response's status may be 304, 412, 206 or 416); without, when it is sent.
        """
        found = self.lookup(path)
        if found is None:
            return None
        response = FileResponse(found[0], stat_result=found[1])
        if headers is not None:
            response.evaluate(method, headers)
        return response


def default_directory(app_dir: str | os.PathLike[str] | None) -> Path:
    return Path(app_dir or os.getcwd()) / "public"
