"""``create:app NAME --type http|ws|tcp|rpc|full``: a new app from the skeleton."""

from __future__ import annotations

from typing import Annotated

import typer

from framework.cli.app import state
from framework.cli.scaffold import create_app
from framework.process.kinds import APP_TYPES, KINDS

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("create:app", help="Create an application from the skeleton.")(create)


def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The app's name and directory.")],
    app_type: Annotated[
        str,
        typer.Option(
            "--type",
            "-t",
            help=f"The servers it runs: {', '.join(APP_TYPES)}.",
            autocompletion=lambda: list(APP_TYPES),
        ),
    ] = "http",
    force: Annotated[
        bool, typer.Option("--force", help="Write into an existing, non-empty directory.")
    ] = False,
) -> None:
    dest = state(ctx).app_dir / name
    files = create_app(dest, name, app_type, force=force)
    server = KINDS[APP_TYPES[app_type][0]].name
    typer.echo(f"created {app_type} app {name!r} in {dest} ({len(files)} files)")
    typer.echo(
        "next:\n"
        f"  cd {name}\n"
        "  pip install -e '.[test]' && pytest\n"
        f"  appctl {server}:start -d\n"
        f"  appctl {server}:status"
    )
