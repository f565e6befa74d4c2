"""``appctl``: the command line of Swoop (typer). See docs/cli.md.

``main()`` is the console script. Errors the user can cause print as one ``error:`` line,
its details, and a ``hint:`` line on stderr, without a traceback; the exit code says what
happened (0 ok, 1 error, 2 usage, 3 not running, 4 already running).
"""

from __future__ import annotations

from framework.cli.app import app, render_error

__all__ = ["app", "main", "render_error"]


def main(argv: list[str] | None = None) -> None:
    """Run ``appctl`` with ``argv`` (default: the process's arguments) and exit."""
    app(args=argv, prog_name="appctl")
