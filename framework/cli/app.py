"""The typer application: the global options and the error handling of every command."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from framework.errors import FrameworkError
from framework.process.errors import exit_code_of

__all__ = ["CliState", "app", "render_error", "state"]

_DEFAULT_HINT = "run `appctl --help` for the commands and their options"


@dataclass(frozen=True, slots=True)
class CliState:
    """The global options, on ``ctx.obj``."""

    app_dir: Path


def render_error(error: BaseException) -> str:
    """``error: <what>``, its detail lines, then ``hint: <fix>`` (from a ``fix:`` line)."""
    head, *details = str(error).splitlines() or [type(error).__name__]
    lines = [f"error: {head}"]
    hint: str | None = None
    for line in details:
        stripped = line.strip()
        if stripped.startswith("fix:") and hint is None:
            hint = stripped[4:].strip()
        elif stripped:
            lines.append(line if line.startswith(" ") else f"  {line}")
    lines.append(f"hint: {hint or _DEFAULT_HINT}")
    return "\n".join(lines)


class AppctlGroup(TyperGroup):
    """Turns framework errors into a message and an exit code, and lists commands in the
    order they were added (server kinds together) rather than alphabetically."""

    def invoke(self, ctx: Any) -> Any:  # click or typer._click, by typer version
        try:
            return super().invoke(ctx)
        except FrameworkError as exc:
            typer.echo(render_error(exc), err=True)
            raise typer.Exit(exit_code_of(exc)) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)


app = typer.Typer(
    name="appctl",
    cls=AppctlGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Create, run and inspect Swoop applications (like Swoft's bin/swoft).",
    epilog="Exit codes: 0 ok, 1 error, 2 usage, 3 not running, 4 already running.",
)


def _version(value: bool) -> None:
    if value:
        from framework import __version__

        typer.echo(f"Swoop {__version__} (Python {platform.python_version()})")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    app_dir: Annotated[
        Path,
        typer.Option(
            "-C",
            "--app-dir",
            help="The application directory (holds app/, config/ and runtime/).",
            file_okay=False,
        ),
    ] = Path("."),
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the versions and exit."
        ),
    ] = False,
) -> None:
    """Create, run and inspect Swoop applications."""
    ctx.obj = CliState(app_dir=app_dir.resolve())


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):  # a command invoked without the root callback
        return CliState(app_dir=Path.cwd())
    return obj


def _register() -> None:
    # Imported for their @app.command side effect, in the order the help lists them.
    from framework.cli import commands_app, commands_create, commands_server

    commands_create.register(app)
    commands_server.register(app)
    commands_app.register(app)


_register()
