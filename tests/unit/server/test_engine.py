"""Choosing an engine by its config name, and the options every engine reads."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import importlib.util
import inspect
from importlib.machinery import ModuleSpec
from typing import Any

import pytest

from framework.errors import FrameworkError
from framework.server import Engine, EngineOptions, EngineUnavailableError, engine_named
from framework.server.engine import entry_of, raise_unwrapped
from framework.server.hypercorn_engine import hypercorn_config


@pytest.mark.parametrize("name", ["hypercorn", "uvicorn"])
def test_engine_named_returns_that_engine(name: str) -> None:
    engine: Engine = engine_named(name)
    assert engine.name == name
    assert {"http/1.1", "websocket"} <= engine.protocols


def test_only_hypercorn_speaks_h2c() -> None:
    assert "h2c" in engine_named("hypercorn").protocols
    assert "h2c" not in engine_named("uvicorn").protocols


def test_uvicorn_runs_on_uvloop_when_installed() -> None:
    has_uvloop = importlib.util.find_spec("uvloop") is not None
    assert engine_named("uvicorn").use_uvloop is has_uvloop
    assert engine_named("hypercorn").use_uvloop is False


def test_unknown_engine_lists_the_choices() -> None:
    with pytest.raises(EngineUnavailableError, match=r"'gunicorn'.*\n  fix: .*'hypercorn'"):
        engine_named("gunicorn")


def test_missing_uvicorn_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "httptools" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(EngineUnavailableError) as caught:
        engine_named("uvicorn")
    assert "needs httptools" in str(caught.value)
    assert "pip install 'swoop-framework[fast]'" in str(caught.value)
    assert isinstance(caught.value, FrameworkError)


def test_options_are_frozen_with_documented_defaults() -> None:
    options = EngineOptions()
    assert (options.graceful_timeout, options.keep_alive_timeout) == (10.0, 5.0)
    assert options.lifespan is True and options.access_log is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.graceful_timeout = 1.0  # type: ignore[misc]


def test_hypercorn_config_carries_the_options() -> None:
    options = EngineOptions(
        graceful_timeout=3.0, keep_alive_timeout=7.0, max_header_size=1234, root_path="/api"
    )
    config = hypercorn_config(options)
    assert (config.graceful_timeout, config.keep_alive_timeout) == (3.0, 7.0)
    assert config.h11_max_incomplete_size == config.h2_max_header_list_size == 1234
    assert config.root_path == "/api"
    assert config.accesslog is None


def test_raise_unwrapped_keeps_the_inner_cause() -> None:
    cause = KeyError("db")
    try:
        raise ValueError("startup") from cause
    except ValueError as exc:
        inner = exc
    with pytest.raises(ValueError) as caught:
        raise_unwrapped(BaseExceptionGroup("g", [BaseExceptionGroup("h", [inner])]))
    assert caught.value is inner and caught.value.__cause__ is cause


def test_raise_unwrapped_keeps_a_group_of_several() -> None:
    group = ExceptionGroup("g", [ValueError(), KeyError()])
    with pytest.raises(ExceptionGroup) as caught:
        raise_unwrapped(group)
    assert caught.value is group


def test_root_path_is_normalised_and_checked() -> None:
    from framework.server.engine import EngineError

    assert EngineOptions(root_path="/api/").root_path == "/api"
    assert EngineOptions(root_path="/").root_path == ""
    with pytest.raises(EngineError, match="is not a path"):
        EngineOptions(root_path="api")


class _App:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append(scope["type"])


async def _function_app(scope: Any, receive: Any, send: Any) -> None:
    return None


def test_entry_of_an_app_object_is_its_bound_call() -> None:
    app = _App()
    entry = entry_of(app)
    assert entry is not app
    assert inspect.ismethod(entry) and entry.__self__ is app
    assert inspect.iscoroutinefunction(entry)  # servers still detect ASGI 3
    asyncio.run(entry({"type": "http"}, None, None))
    assert app.calls == ["http"]


class _EntryApp(_App):
    def swoop_entry(self, scope: Any, receive: Any, send: Any) -> Any:
        self.calls.append("entry")
        return self(scope, receive, send)


def test_entry_of_an_app_with_swoop_entry_is_that_entry() -> None:
    app = _EntryApp()
    entry = entry_of(app)
    assert inspect.ismethod(entry) and entry.__func__ is _EntryApp.swoop_entry
    asyncio.run(entry({"type": "http"}, None, None))  # its result is awaited
    assert app.calls == ["entry", "http"]


def test_entry_of_ignores_a_swoop_entry_that_is_not_a_function() -> None:
    app = _App()
    app.swoop_entry = "not callable"  # type: ignore[attr-defined]
    assert entry_of(app) == app.__call__


def test_entry_of_functions_methods_and_partials_is_themselves() -> None:
    bound = _App().__call__
    wrapped = functools.partial(_function_app)
    assert entry_of(_function_app) is _function_app
    assert entry_of(bound) is bound
    assert entry_of(wrapped) is wrapped
