"""``appctl`` commands that need no running server, through typer's CliRunner."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from framework import __version__
from framework.cli import app, render_error
from framework.errors import describe
from framework.process.errors import NotRunningError
from framework.process.kinds import APP_TYPES, KINDS

runner = CliRunner()


def appctl(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    code, _, err = appctl("-C", str(tmp_path), "create:app", "demo", "--type", "http")
    assert code == 0, err
    return tmp_path / "demo"


@pytest.fixture
def isolated_imports() -> Iterator[None]:
    """app:* commands import the app's `app` package; forget it afterwards."""
    modules, path = set(sys.modules), list(sys.path)
    try:
        yield
    finally:
        for name in set(sys.modules) - modules:
            del sys.modules[name]
        sys.path[:] = path


def test_version() -> None:
    code, out, _ = appctl("--version")
    assert code == 0
    assert out.strip() == f"Swoop {__version__} (Python {sys.version.split()[0]})"


def test_help_lists_the_commands() -> None:
    code, out, _ = appctl("--help")
    assert code == 0
    for command in ["create:app", "http:start", "http:reload", "ws:status", "app:routes"]:
        assert command in out


def test_create_app_copies_the_skeleton_with_the_name(demo: Path) -> None:
    for name in [
        "pyproject.toml",
        "README.md",
        ".env.example",
        "Dockerfile",
        ".dockerignore",
        "config/app.py",
        "config/server.py",
        "app/controller/home.py",
        "tests/test_users.py",
    ]:
        assert (demo / name).is_file(), name
    assert 'name = "demo"' in (demo / "pyproject.toml").read_text()
    assert "{{" not in "".join(p.read_text() for p in demo.rglob("*") if p.is_file())
    assert os.access(demo / "bin" / "appctl", os.X_OK)
    dockerfile = (demo / "Dockerfile").read_text()
    assert 'CMD ["appctl", "http:start"' in dockerfile


def test_create_app_refuses_an_existing_directory_unless_forced(demo: Path) -> None:
    code, _, err = appctl("-C", str(demo.parent), "create:app", "demo")
    assert code == 1
    assert "already exists" in err and "hint: " in err and "--force" in err
    (demo / "app" / "controller" / "home.py").write_text("# edited\n")
    code, _, err = appctl("-C", str(demo.parent), "create:app", "demo", "--force")
    assert code == 0, err
    assert "HomeController" in (demo / "app" / "controller" / "home.py").read_text()


@pytest.mark.parametrize(
    "app_type", [t for t, kinds in APP_TYPES.items() if not all(KINDS[k].available for k in kinds)]
)
def test_create_app_refuses_types_whose_servers_do_not_exist_yet(
    tmp_path: Path, app_type: str
) -> None:
    code, _, err = appctl("-C", str(tmp_path), "create:app", "demo", "--type", app_type)
    assert code == 1
    assert "not available in this version of Swoop yet" in err
    assert "available types: http" in err
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize("name", ["1demo", "my app", "../escape", ""])
def test_create_app_refuses_bad_names(tmp_path: Path, name: str) -> None:
    code, _, err = appctl("-C", str(tmp_path), "create:app", name)
    assert code == 1
    assert "is not usable" in err


def test_unknown_type_is_an_error(tmp_path: Path) -> None:
    code, _, err = appctl("-C", str(tmp_path), "create:app", "demo", "--type", "soap")
    assert code == 1
    assert "unknown app type 'soap'" in err


@pytest.mark.parametrize("command", ["http:stop", "http:reload", "http:status"])
def test_commands_on_a_stopped_server_exit_3(demo: Path, command: str) -> None:
    code, _, err = appctl("-C", str(demo), command)
    assert code == 3
    assert err.startswith("error: the http server is not running\n")
    assert "hint: start it with `appctl http:start -d`" in err


def test_a_stale_pid_file_counts_as_stopped_and_is_removed(demo: Path) -> None:
    pid_file = demo / "runtime" / "http.pid"
    pid_file.write_text("999999\n")
    code, _, _ = appctl("-C", str(demo), "http:status")
    assert code == 3
    assert not pid_file.exists()


MISSING_KINDS = [k.name for k in KINDS.values() if not k.available]


@pytest.mark.skipif(not MISSING_KINDS, reason="every server kind is available")
@pytest.mark.parametrize("command", ["start", "stop", "reload", "restart", "status"])
def test_servers_that_do_not_exist_yet_are_refused(demo: Path, command: str) -> None:
    for kind in MISSING_KINDS:
        code, _, err = appctl("-C", str(demo), f"{kind}:{command}")
        assert code == 1
        assert "is not available in this version of Swoop yet" in err


@pytest.mark.parametrize(
    "args", [["http:start", "--workers", "0"], ["http:start", "--port", "70000"], ["http:nope"]]
)
def test_usage_errors_exit_2(demo: Path, args: list[str]) -> None:
    code, _, _ = appctl("-C", str(demo), *args)
    assert code == 2


def test_app_routes(demo: Path, isolated_imports: None) -> None:
    code, out, err = appctl("-C", str(demo), "app:routes", "--json")
    assert code == 0, err
    routes = {(r["methods"], r["path"]) for r in json.loads(out)}
    assert {("GET", "/"), ("GET", "/hello/{name}"), ("POST", "/users")} <= routes
    code, out, _ = appctl("-C", str(demo), "app:routes")
    assert out.splitlines()[0].split() == ["methods", "path", "name", "where"]


def test_app_beans(demo: Path, isolated_imports: None) -> None:
    code, out, err = appctl("-C", str(demo), "app:beans", "--json")
    assert code == 0, err
    types = {b["type"] for b in json.loads(out)}
    assert {"app.service.user.UserService", "app.repository.user.UserRepository"} <= types


def test_app_config(demo: Path) -> None:
    code, out, err = appctl("-C", str(demo), "app:config")
    assert code == 0, err
    assert "server.port" in out and "18306" in out and "config/server.py" in out
    code, out, _ = appctl("-C", str(demo), "app:config", "app.name")
    assert out.strip() == "app.name = 'demo'  (config/app.py)"


def test_an_app_that_fails_to_boot_prints_the_error_without_traceback(
    demo: Path, isolated_imports: None
) -> None:
    (demo / "app" / "controller" / "home.py").write_text("def broken(:\n")
    code, _, err = appctl("-C", str(demo), "app:routes")
    assert code == 1
    assert err.startswith("error: module 'app.controller.home' failed to import: SyntaxError")
    assert "home.py:1" in err and "hint: " in err and "Traceback" not in err


def test_render_error_turns_the_fix_line_into_a_hint() -> None:
    error = NotRunningError(describe(["it is down", "pid file: runtime/http.pid", "fix: start it"]))
    assert render_error(error) == (
        "error: it is down\n  pid file: runtime/http.pid\nhint: start it"
    )
    assert render_error(ValueError("plain")).endswith(
        "hint: run `appctl --help` for the commands and their options"
    )


@pytest.mark.slow
def test_the_generated_app_passes_its_own_tests(demo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"],
        cwd=demo,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 passed" in done.stdout


def test_a_taken_port_is_an_error_with_a_hint(demo: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = appctl(
            "-C", str(demo), "http:start", "--host", "127.0.0.1", "--port", str(port)
        )
    assert code == 1
    assert err.startswith(f"error: Cannot listen on 127.0.0.1:{port}: Address already in use")
    assert "hint: stop the process using it" in err
    assert not (demo / "runtime" / "http.pid").exists()


def test_a_missing_app_directory_is_an_error(tmp_path: Path) -> None:
    code, _, err = appctl("-C", str(tmp_path / "nowhere"), "http:start")
    assert code == 1
    assert "does not exist" in err


def test_shell_completion_offers_commands_and_types(tmp_path: Path) -> None:
    def complete(words: str, index: int) -> list[str]:
        env = {
            **os.environ,
            "_APPCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(index),
        }
        done = subprocess.run(
            [sys.executable, "-c", "from framework.cli import main; main()"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        return done.stdout.split()

    assert complete("appctl http:st", 1) == ["http:start", "http:stop", "http:status"]
    assert complete("appctl create:app demo --type ", 4) == list(APP_TYPES)
