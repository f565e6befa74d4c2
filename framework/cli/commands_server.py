"""``<server>:start|stop|reload|restart|status`` for every server kind (http, ws, tcp, rpc)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from framework.cli.app import state
from framework.cli.tables import render_status
from framework.config import Config, ConfigError, load_config
from framework.process import manager
from framework.process.errors import NotRunningError
from framework.process.kinds import KINDS, ServerKind
from framework.process.runtime import RuntimePaths
from framework.process.settings import ServerSettings, server_option

__all__ = ["register"]

DaemonOption = Annotated[
    bool | None,
    typer.Option(
        "-d/-f",
        "--daemon/--foreground",
        help="Run in the background (logs in runtime/logs/), or in the foreground "
        "(default: config server.daemonize, else the foreground; restart: as before).",
        show_default=False,
    ),
]
HostOption = Annotated[
    str | None, typer.Option("--host", help="Address to listen on (config: server.host).")
]
PortOption = Annotated[
    int | None, typer.Option("--port", "-p", help="Port (config: server.port).", min=0, max=65535)
]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", "-w", help="Worker processes (default: the CPU count).", min=1),
]
WatchOption = Annotated[
    bool,
    typer.Option("--watch", help="Reload when files under app/ or config/ change (development)."),
]


def register(app: typer.Typer) -> None:
    for kind in KINDS.values():
        _register_kind(app, kind)


def _config(app_dir: Path) -> Config:
    return load_config(app_dir)


def _paths(app_dir: Path, kind: ServerKind) -> RuntimePaths:
    """The run-time paths; with a broken config, the defaults (so stop still works)."""
    try:
        settings = ServerSettings.resolve(kind, app_dir, _config(app_dir))
    except ConfigError as exc:
        first = str(exc).splitlines()[0]
        typer.echo(f"warning: config not loaded ({first}); using default paths", err=True)
        return RuntimePaths.of(app_dir, kind.name)
    return settings.paths


def _start(app_dir: Path, kind: ServerKind, overrides: dict[str, Any]) -> int:
    kind.require()
    settings = ServerSettings.resolve(kind, app_dir, _config(app_dir), overrides)
    return manager.start(settings, typer.echo)


def _default_timeout(app_dir: Path, kind: ServerKind) -> float:
    try:
        graceful = server_option(_config(app_dir), kind.name, "graceful_timeout", 10.0, float)
    except ConfigError:
        graceful = 10.0
    return float(graceful) + 5.0


def _register_kind(app: typer.Typer, kind: ServerKind) -> None:
    name, title = kind.name, kind.title

    @app.command(f"{name}:start", help=f"Start the {title} server (port {kind.default_port}).")
    def start(
        ctx: typer.Context,
        daemon: DaemonOption = None,
        host: HostOption = None,
        port: PortOption = None,
        workers: WorkersOption = None,
        watch: WatchOption = False,
    ) -> None:
        overrides = {"host": host, "port": port, "workers": workers}
        overrides |= {"daemonize": daemon, "watch": watch or None}
        raise typer.Exit(_start(state(ctx).app_dir, kind, overrides))

    @app.command(f"{name}:stop", help=f"Stop the {title} server gracefully.")
    def stop(
        ctx: typer.Context,
        timeout: Annotated[
            float | None,
            typer.Option(
                "--timeout",
                "-t",
                help="Seconds workers get to finish, then they are killed "
                "(default: server.graceful_timeout + 5).",
                min=0,
            ),
        ] = None,
    ) -> None:
        app_dir = state(ctx).app_dir
        kind.require()
        paths = _paths(app_dir, kind)
        grace = _default_timeout(app_dir, kind) if timeout is None else timeout
        pid = manager.stop(paths, grace)
        typer.echo(f"{title} server stopped (master pid {pid})")

    @app.command(f"{name}:reload", help="Rolling reload: new workers with the new code.")
    def reload(ctx: typer.Context) -> None:
        kind.require()
        typer.echo(manager.reload(_paths(state(ctx).app_dir, kind)))

    @app.command(f"{name}:restart", help=f"Stop the {title} server (master too), start it again.")
    def restart(
        ctx: typer.Context,
        daemon: DaemonOption = None,
        host: HostOption = None,
        port: PortOption = None,
        workers: WorkersOption = None,
        watch: WatchOption = False,
    ) -> None:
        app_dir = state(ctx).app_dir
        kind.require()
        paths = _paths(app_dir, kind)
        previous: dict[str, Any] = {}
        try:
            answer = manager.status(paths)
            previous = dict(answer.get("overrides", {}))
            previous["daemonize"] = bool(answer.get("daemon"))
        except NotRunningError:
            typer.echo(f"{title} server was not running; starting it", err=True)
        else:
            pid = manager.stop(paths, _default_timeout(app_dir, kind))
            typer.echo(f"{title} server stopped (master pid {pid})")
        given = {"host": host, "port": port, "workers": workers, "watch": watch or None}
        given["daemonize"] = daemon
        overrides = previous | {k: v for k, v in given.items() if v is not None}
        raise typer.Exit(_start(app_dir, kind, overrides))

    @app.command(f"{name}:status", help="Show the master and its workers (like Workerman).")
    def status(
        ctx: typer.Context,
        live: Annotated[bool, typer.Option("--live", help="Refresh until Ctrl+C.")] = False,
        interval: Annotated[
            float, typer.Option("--interval", help="Seconds between refreshes.", min=0.1)
        ] = 1.0,
        as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON.")] = False,
    ) -> None:
        kind.require()
        paths = _paths(state(ctx).app_dir, kind)
        if not live:
            _print_status(manager.status(paths), as_json)
            return
        try:
            while True:
                answer = manager.status(paths)
                if sys.stdout.isatty():
                    typer.echo("\x1b[2J\x1b[H", nl=False)
                _print_status(answer, as_json)
                time.sleep(interval)
        except KeyboardInterrupt:
            return


def _print_status(answer: dict[str, Any], as_json: bool) -> None:
    typer.echo(json.dumps(answer, indent=2) if as_json else render_status(answer))
