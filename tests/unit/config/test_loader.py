"""load_config() and env(): every layer, its precedence, and the errors each can raise."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from framework.config import Config, ConfigError, env, load_config

Files = dict[str, str]


@pytest.fixture
def app(tmp_path: Path) -> Callable[[Files], Path]:
    """Write ``{relative path: text}`` into the app directory and return it."""

    def write(files: Files) -> Path:
        for rel, text in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        return tmp_path

    return write


def environ_snapshot() -> dict[str, str]:
    # pytest itself updates PYTEST_CURRENT_TEST between setup and teardown.
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


@pytest.fixture(autouse=True)
def untouched_process() -> Iterator[None]:
    environ, modules = environ_snapshot(), set(sys.modules)
    yield
    assert environ_snapshot() == environ
    assert not {m for m in set(sys.modules) - modules if m.startswith("_swoop_config")}


LAYERED: Files = {
    ".env": "PORT=1001\nSWOOP_SERVER__WORKERS=2\n",
    "config/server.py": """
        from framework.config import env
        host = "127.0.0.1"
        port = env("PORT", 1000, type=int)
        workers = 1
        timeout = 30
        debug = True
        name = "base"
    """,
    "config/prod/server.py": "debug = False\nname = 'prod'\n",
}


def test_each_layer_wins_over_the_one_before(app: Callable[[Files], Path]) -> None:
    root = app(LAYERED)
    environ = {"APP_ENV": "prod", "SWOOP_SERVER__NAME": "environ", "SWOOP_SERVER__TIMEOUT": "9"}
    config = load_config(root, environ=environ, overrides={"server.timeout": 5})
    assert config.as_dict() == {
        "server": {
            "host": "127.0.0.1",  # config/server.py
            "port": 1001,  # .env, read by env() in config/server.py
            "workers": "2",  # .env SWOOP_*
            "timeout": 5,  # overrides
            "debug": False,  # config/prod/server.py
            "name": "environ",  # real environment SWOOP_*
        }
    }
    sources = {key: config.source_of(f"server.{key}") for key in config["server"]}
    assert sources == {
        "host": "config/server.py",
        "port": "config/server.py",
        "workers": ".env SWOOP_SERVER__WORKERS",
        "timeout": "<override>",
        "debug": "config/prod/server.py",
        "name": "env SWOOP_SERVER__NAME",
    }


def test_real_environment_wins_over_dotenv(app: Callable[[Files], Path]) -> None:
    root = app(LAYERED)
    config = load_config(root, environ={"PORT": "2002", "SWOOP_SERVER__WORKERS": "8"})
    assert config["server.port"] == 2002
    assert config["server.workers"] == "8"
    assert config.source_of("server.workers") == "env SWOOP_SERVER__WORKERS"


def test_env_argument_chooses_the_overlay(app: Callable[[Files], Path]) -> None:
    root = app({**LAYERED, "config/test/server.py": "name = 'test'\n", ".env": "APP_ENV=prod\n"})
    assert load_config(root, environ={})["server.name"] == "prod"
    assert load_config(root, environ={"APP_ENV": "test"})["server.name"] == "test"
    assert load_config(root, env="test", environ={"APP_ENV": "prod"})["server.name"] == "test"
    assert load_config(root, env="", environ={"APP_ENV": "prod"})["server.name"] == "base"
    assert load_config(root, env="staging", environ={})["server.name"] == "base"


def test_overlay_can_add_sections(app: Callable[[Files], Path]) -> None:
    root = app({"config/app.py": "name = 'x'\n", "config/prod/cache.py": "ttl = 60\n"})
    config = load_config(root, env="prod", environ={})
    assert config.as_dict() == {"app": {"name": "x"}, "cache": {"ttl": 60}}
    assert "prod" not in config


def test_bad_app_env_is_rejected(app: Callable[[Files], Path]) -> None:
    root = app({})
    with pytest.raises(ConfigError) as caught:
        load_config(root, environ={"APP_ENV": "../etc"})
    assert str(caught.value) == (
        "APP_ENV '../etc' is not a plain name\n"
        "  from: env APP_ENV\n"
        "  fix: use a name like 'prod', whose overrides live in config/prod/"
    )


def test_module_rule_keeps_public_values_only(app: Callable[[Files], Path]) -> None:
    root = app(
        {
            "config/app.py": """
                import os
                from pathlib import Path
                from framework.config import env
                name = "demo"
                root = Path("/srv")
                limits = {"rps": 10}
                _secret = "hidden"
                def helper():
                    return 1
                class Local:
                    pass
            """
        }
    )
    config = load_config(root, environ={})
    assert list(config["app"]) == ["name", "root", "limits"]
    assert config["app.root"] == Path("/srv")


def test_config_dict_rule_keeps_any_object(app: Callable[[Files], Path]) -> None:
    root = app(
        {
            "config/beans.py": """
                from pathlib import Path
                ignored = 1
                config = {"factory": Path, "fn": len, "hosts": ["a", "b"]}
            """
        }
    )
    config = load_config(root, environ={})
    assert config.as_dict() == {"beans": {"factory": Path, "fn": len, "hosts": ("a", "b")}}


def test_config_that_is_not_a_dict_is_an_error(app: Callable[[Files], Path]) -> None:
    root = app({"config/db.py": "config = ['url']\n"})
    with pytest.raises(ConfigError) as caught:
        load_config(root, environ={})
    assert str(caught.value) == (
        "config file config/db.py sets 'config' to a list, not a dict\n"
        "  fix: make 'config' a dict of settings, or rename it"
    )


def test_private_files_and_folders_are_not_sections(app: Callable[[Files], Path]) -> None:
    root = app({"config/_helpers.py": "x = 1\n", "config/notes.txt": "", "config/dev/a.py": ""})
    assert load_config(root, environ={}) == {}


def test_file_name_with_a_dot_is_an_error(app: Callable[[Files], Path]) -> None:
    root = app({"config/my.db.py": "x = 1\n"})
    with pytest.raises(ConfigError) as caught:
        load_config(root, environ={})
    assert str(caught.value) == (
        "config file config/my.db.py has a dot in its name, so no dotted key can reach 'my.db'\n"
        "  fix: rename it without dots, like config/my_db.py"
    )


def test_missing_config_folder_gives_an_empty_config(app: Callable[[Files], Path]) -> None:
    config = load_config(app({}), environ={})
    assert isinstance(config, Config)
    assert len(config) == 0


def test_missing_app_dir_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, environ={})
    assert str(caught.value) == (
        f"app directory {str(missing)!r} does not exist\n"
        "  fix: pass the directory that holds .env and config/"
    )
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is not a directory"):
        load_config(tmp_path / "file", environ={})


def test_missing_key_lists_the_layers(app: Callable[[Files], Path]) -> None:
    config = load_config(app({"config/db.py": "pool = 5\n"}), environ={})
    with pytest.raises(ConfigError) as caught:
        config.get("db.url")
    assert str(caught.value) == (
        "config key 'db.url' is not set\n"
        "  looked in: config/db.py, env SWOOP_DB__URL\n"
        "  fix: add 'url' to config/db.py or set SWOOP_DB__URL"
    )
    overlaid = load_config(app({}), env="prod", environ={})
    with pytest.raises(ConfigError) as caught:
        overlaid.get("cache")
    assert str(caught.value) == (
        "config key 'cache' is not set\n"
        "  looked in: config/cache.py, config/prod/cache.py, env SWOOP_CACHE\n"
        "  fix: create config/cache.py or set SWOOP_CACHE"
    )


def test_env_variables_match_keys_case_insensitively(app: Callable[[Files], Path]) -> None:
    root = app({"config/server.py": "maxConnections = 10\nport = 1\n"})
    environ = {
        "SWOOP_SERVER__MAXCONNECTIONS": "20",
        "SWOOP_SERVER__PORT": "8080",
        "SWOOP_SERVER__NEW_KEY": "x",
        "SWOOP_CACHE__REDIS__URL": "redis://",
        "SWOOP_DEBUG": "yes",
        "OTHER": "ignored",
    }
    config = load_config(root, environ=environ)
    assert config.as_dict() == {
        "server": {"maxConnections": "20", "port": "8080", "new_key": "x"},
        "cache": {"redis": {"url": "redis://"}},
        "debug": "yes",
    }
    assert config.get("server.port", type=int) == 8080
    assert config.get("debug", type=bool) is True
    assert config.source_of("cache.redis.url") == "env SWOOP_CACHE__REDIS__URL"


def test_env_type_error_names_the_variable(app: Callable[[Files], Path]) -> None:
    config = load_config(
        app({"config/server.py": "port = 1\n"}), environ={"SWOOP_SERVER__PORT": "abc"}
    )
    with pytest.raises(ConfigError) as caught:
        config.get("server.port", type=int)
    assert str(caught.value) == (
        "config key 'server.port' is 'abc', which is not an int\n"
        "  from: env SWOOP_SERVER__PORT\n"
        "  fix: set SWOOP_SERVER__PORT to a whole number, like 18306"
    )


def test_env_variable_cannot_replace_a_section(app: Callable[[Files], Path]) -> None:
    root = app({"config/server.py": "port = 1\n"})
    with pytest.raises(ConfigError) as caught:
        load_config(root, environ={"SWOOP_SERVER": "x"})
    assert str(caught.value) == (
        "env SWOOP_SERVER would replace the section 'server' with a string\n"
        "  from: config/server.py\n"
        "  fix: set one key inside it instead, like SWOOP_SERVER__PORT"
    )


def test_env_variable_cannot_go_inside_a_value(app: Callable[[Files], Path]) -> None:
    root = app({"config/server.py": "port = 1\n", ".env": "SWOOP_SERVER__PORT__X=1\n"})
    with pytest.raises(ConfigError) as caught:
        load_config(root, environ={})
    assert str(caught.value) == (
        ".env SWOOP_SERVER__PORT__X sets a key inside 'server.port', which is a value, not a "
        "section\n"
        "  from: config/server.py\n"
        "  fix: set SWOOP_SERVER__PORT instead"
    )


@pytest.mark.parametrize("name", ["SWOOP_", "SWOOP_SERVER____PORT", "SWOOP_SERVER__"])
def test_malformed_env_variable_is_an_error(app: Callable[[Files], Path], name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(app({}), environ={name: "1"})
    assert str(caught.value) == (
        f"env {name} does not name a config key\n"
        "  fix: separate keys with two underscores, like SWOOP_SERVER__PORT"
    )


def test_overrides_win_over_everything(app: Callable[[Files], Path]) -> None:
    root = app({"config/server.py": "port = 1\n"})
    config = load_config(
        root,
        environ={"SWOOP_SERVER__PORT": "2"},
        overrides={"server": {"port": 3}, "extra.flag": True},
    )
    assert config.as_dict() == {"server": {"port": 3}, "extra": {"flag": True}}
    assert config.source_of("extra.flag") == "<override>"


def test_dotenv_expands_variables_from_the_given_environment(
    app: Callable[[Files], Path],
) -> None:
    root = app(
        {
            ".env": "HOST=db\nURL=postgres://${USER}@${HOST}/app\nBARE\n",
            "config/db.py": """
                from framework.config import env
                url = env("URL")
                bare = env("BARE", "unset")
            """,
        }
    )
    config = load_config(root, environ={"USER": "ada"})
    assert config["db.url"] == "postgres://ada@db/app"
    assert config["db.bare"] == "unset"


def test_env_reads_os_environ_outside_loading(app: Callable[[Files], Path]) -> None:
    load_config(app({".env": "ONLY_IN_DOTENV_7F3A=1\n"}), environ={})
    assert env("ONLY_IN_DOTENV_7F3A") is None
    assert env("ONLY_IN_DOTENV_7F3A", "d") == "d"
    name = next(iter(os.environ))
    assert env(name) == os.environ[name]


def test_env_type_error_inside_a_config_file(app: Callable[[Files], Path]) -> None:
    root = app(
        {
            ".env": "PORT=abc\n",
            "config/server.py": "from framework.config import env\n\nport = env('PORT', type=int)",
        }
    )
    with pytest.raises(ConfigError) as caught:
        load_config(root, environ={})
    assert str(caught.value) == (
        "environment variable 'PORT' is 'abc', which is not an int\n"
        "  from: .env PORT\n"
        "  fix: set PORT to a whole number, like 18306\n"
        "  in: config/server.py, line 3"
    )
    assert isinstance(caught.value.__cause__, ConfigError)


def test_failing_config_file_names_file_line_and_error(app: Callable[[Files], Path]) -> None:
    root = app({"config/db.py": "pool = 5\ntimeout = 1 / 0\n"})
    with pytest.raises(ConfigError) as caught:
        load_config(root, environ={})
    assert str(caught.value) == (
        "config file config/db.py raised ZeroDivisionError: division by zero\n"
        "  at: config/db.py, line 2\n"
        "  fix: correct config/db.py; the original error is chained above"
    )
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_syntax_error_names_file_and_line(app: Callable[[Files], Path]) -> None:
    root = app({"config/db.py": "pool = 5\nurl = (\n"})
    with pytest.raises(ConfigError) as caught:
        load_config(root, environ={})
    assert str(caught.value) == (
        "config file config/db.py raised SyntaxError: '(' was never closed\n"
        "  at: config/db.py, line 2\n"
        "  fix: correct config/db.py; the original error is chained above"
    )


def test_error_raised_in_an_imported_module_points_at_the_import(
    app: Callable[[Files], Path],
) -> None:
    root = app({"config/db.py": "import json\n\njson.loads('{')\n"})
    with pytest.raises(ConfigError, match=r"at: config/db.py, line 3\n"):
        load_config(root, environ={})


def test_config_files_may_define_dataclasses(app: Callable[[Files], Path]) -> None:
    root = app(
        {
            "config/beans.py": """
                from __future__ import annotations
                from dataclasses import dataclass
                from typing import ClassVar

                @dataclass
                class Pool:
                    size: int
                    kind: ClassVar[str] = "pool"

                config = {"pool": Pool(3)}
            """
        }
    )
    assert load_config(root, environ={})["beans.pool"].size == 3


def test_no_bytecode_is_written_and_rewrites_are_seen(app: Callable[[Files], Path]) -> None:
    root = app({"config/app.py": "port = 1001\n"})
    assert load_config(root, environ={})["app.port"] == 1001
    app({"config/app.py": "port = 1002\n"})  # same size, same second
    assert load_config(root, environ={})["app.port"] == 1002
    assert not (root / "config" / "__pycache__").exists()


def test_config_modules_are_not_importable_afterwards(app: Callable[[Files], Path]) -> None:
    root = app({"config/app.py": "import sys\nname = __name__\n"})
    name = load_config(root, environ={})["app.name"]
    assert name.startswith("_swoop_config_")
    assert name not in sys.modules
    assert str(root) not in sys.path


def test_loaded_config_is_frozen(app: Callable[[Files], Path]) -> None:
    config = load_config(app({"config/app.py": "hosts = ['a']\nlimits = {'rps': 1}\n"}), environ={})
    assert config["app.hosts"] == ("a",)
    with pytest.raises(TypeError):
        config["app.limits"]["rps"] = 2


def test_os_environ_is_used_when_no_environ_is_given(app: Callable[[Files], Path]) -> None:
    root = app({"config/app.py": "from framework.config import env\nhome = env('PATH')\n"})
    assert load_config(root)["app.home"] == os.environ.get("PATH")
