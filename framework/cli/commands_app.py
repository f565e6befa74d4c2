"""``app:routes``, ``app:beans``, ``app:config``: boot the app here and show what it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from framework.cli.app import state
from framework.cli.tables import table

if TYPE_CHECKING:
    from framework.application import Application

__all__ = ["register"]

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _boot(app_dir: Path) -> Application:
    from framework.process.boot import boot_app
    from framework.process.kinds import KINDS

    kind = KINDS["http"]
    return boot_app(app_dir, kind)


def register(app: typer.Typer) -> None:
    app.command("app:routes", help="List the HTTP routes: methods, path, name, handler.")(routes)
    app.command("app:beans", help="List the beans of the container.")(beans)
    app.command("app:config", help="Show the merged config, or one KEY and its source.")(config)


def routes(ctx: typer.Context, as_json: AsJson = False) -> None:
    from framework.http import HttpExtension

    application = _boot(state(ctx).app_dir)
    router = application.extension(HttpExtension).router
    rows = [
        {
            "methods": ",".join(route.methods),
            "path": route.path,
            "name": route.name,
            "where": route.where,
        }
        for route in sorted(router.routes, key=lambda r: (r.path, r.methods))
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    elif not rows:
        typer.echo("no routes: no @controller with mapped methods was found")
    else:
        headers = ["methods", "path", "name", "where"]
        typer.echo(table(headers, [[r[h] for h in headers] for r in rows]))


def beans(ctx: typer.Context, as_json: AsJson = False) -> None:
    application = _boot(state(ctx).app_dir)
    rows = [
        {
            "name": d.name,
            "type": f"{d.cls.__module__}.{d.cls.__qualname__}",
            "scope": d.scope.value if hasattr(d.scope, "value") else str(d.scope),
            "where": _location(d),
        }
        for d in sorted(application.container.definitions, key=lambda d: d.name)
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        headers = ["name", "type", "scope", "where"]
        typer.echo(table(headers, [[r[h] for h in headers] for r in rows]))


def _location(definition: Any) -> str:
    try:
        return str(definition.location or "")
    except Exception:  # the location is read from source lazily; never fail a listing on it
        return ""


def config(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Argument(help="A dotted key, e.g. server.port.")] = None,
    as_json: AsJson = False,
) -> None:
    from framework.config import load_config

    settings = load_config(state(ctx).app_dir)
    if key is not None:
        value = settings.get(key)
        if as_json:
            typer.echo(
                json.dumps(
                    {"key": key, "value": value, "source": settings.source_of(key)},
                    indent=2,
                    default=repr,
                )
            )
        else:
            typer.echo(f"{key} = {value!r}  ({settings.source_of(key)})")
        return
    flat = dict(_flatten(settings.as_dict()))
    if as_json:
        typer.echo(json.dumps(settings.as_dict(), indent=2, default=repr))
    elif not flat:
        typer.echo("the config is empty (no config/*.py, no SWOOP_* variables)")
    else:
        typer.echo(
            table(
                ["key", "value", "source"],
                [[k, repr(v), settings.source_of(k)] for k, v in flat.items()],
            )
        )


def _flatten(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for name, value in sorted(tree.items(), key=lambda kv: str(kv[0])):
        key = f"{prefix}{name}"
        if isinstance(value, dict) and value:
            items.extend(_flatten(value, key + "."))
        else:
            items.append((key, value))
    return items
