"""Config: dotted access, typed get, sections, merging, sources and frozenness."""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

import pytest

from framework.config import MISSING, Config, ConfigError
from framework.errors import FrozenError


class Clock:
    pass


def make() -> Config:
    return Config.from_mapping(
        {
            "server": {"host": "127.0.0.1", "port": "8080", "tags": ["a", "b"]},
            "db": {"pool": {"size": 5}},
            "debug": False,
        }
    )


def test_dotted_keys_reach_nested_values() -> None:
    config = make()
    assert config["server.host"] == "127.0.0.1"
    assert config.get("db.pool.size") == 5
    assert config["debug"] is False
    assert "server.port" in config
    assert "server.missing" not in config
    number: object = 5
    assert number not in config
    assert list(config) == ["server", "db", "debug"]
    assert len(config) == 3


def test_typed_get_converts() -> None:
    config = make()
    assert config.get("server.port", type=int) == 8080
    assert config.get("server.tags", type=list[str]) == ["a", "b"]
    assert config.get("db.pool", type=dict) == {"size": 5}


def test_default_is_returned_as_given() -> None:
    config = make()
    assert config.get("server.workers", "4", type=int) == "4"
    assert config.get("server.workers", None) is None
    assert MISSING is not None
    assert repr(MISSING) == "MISSING"


def test_missing_key_error_names_where_it_looked() -> None:
    with pytest.raises(ConfigError) as caught:
        make().get("db.url")
    assert str(caught.value) == (
        "config key 'db.url' is not set\n  looked in: <code>\n  fix: add 'db.url' to <code>"
    )


def test_getitem_and_source_of_raise_the_same_error_which_is_a_key_error() -> None:
    config = make()
    with pytest.raises(KeyError) as by_item:
        config["db.url"]
    with pytest.raises(ConfigError) as by_source:
        config.source_of("db.url")
    assert str(by_item.value) == str(by_source.value)
    assert by_item.value.__cause__ is None


def test_dotted_top_level_keys_are_split_and_merged() -> None:
    config = Config.from_mapping({"server": {"host": "h"}, "server.port": 1})
    assert config.as_dict() == {"server": {"host": "h", "port": 1}}


@pytest.mark.parametrize("key", ["a..b", ".a", "a.", ""])
def test_bad_dotted_key_is_rejected(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({key: 1}, source="tests")
    assert str(caught.value) == (
        f"config key {key!r} is not a dotted key like 'server.port'\n"
        "  from: tests\n"
        "  fix: use string keys with non-empty parts separated by single dots"
    )


def test_non_string_top_level_key_is_rejected() -> None:
    data: dict[Any, Any] = {1: "x"}
    with pytest.raises(ConfigError, match="config key 1 is not a dotted key"):
        Config.from_mapping(data)


def test_type_error_names_the_source() -> None:
    config = Config.from_mapping({"server": {"port": "abc"}}, source="tests")
    with pytest.raises(ConfigError) as caught:
        config.get("server.port", type=int)
    assert str(caught.value) == (
        "config key 'server.port' is 'abc', which is not an int\n"
        "  from: tests\n"
        "  fix: make 'server.port' in tests a whole number, like 18306"
    )


def test_section_is_a_config_that_keeps_full_keys_in_errors() -> None:
    db = make().section("db")
    assert isinstance(db, Config)
    assert db["pool.size"] == 5
    assert db.section("pool").get("size", type=int) == 5
    assert db.source_of("pool.size") == "<code>"
    with pytest.raises(ConfigError, match=r"config key 'db\.url' is not set"):
        db.get("url")
    assert repr(db) == "<Config 'db' keys=['pool']>"


def test_absent_section_is_empty() -> None:
    empty = make().section("cache")
    assert len(empty) == 0
    assert empty.as_dict() == {}
    with pytest.raises(ConfigError, match=r"config key 'cache\.ttl' is not set"):
        empty.get("ttl")


def test_section_of_a_value_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        make().section("server.port")
    assert str(caught.value) == (
        "config key 'server.port' is '8080', not a section\n"
        "  from: <code>\n"
        "  fix: read it with config.get('server.port'), or make it a dict"
    )


def test_as_dict_is_a_deep_plain_copy() -> None:
    config = make()
    copy = config.as_dict()
    assert copy == {
        "server": {"host": "127.0.0.1", "port": "8080", "tags": ("a", "b")},
        "db": {"pool": {"size": 5}},
        "debug": False,
    }
    copy["db"]["pool"]["size"] = 50
    assert config["db.pool.size"] == 5
    assert Config.from_mapping(copy).as_dict()["db"] == {"pool": {"size": 50}}


def test_merged_deep_merges_into_a_new_config() -> None:
    config = make()
    merged = config.merged({"server.port": 9000, "db": {"pool": {"timeout": 3}}})
    assert merged["server.port"] == 9000
    assert merged["server.host"] == "127.0.0.1"
    assert merged.as_dict()["db"] == {"pool": {"size": 5, "timeout": 3}}
    assert merged.source_of("server.port") == "<override>"
    assert merged.source_of("server.host") == "<code>"
    assert config["server.port"] == "8080"


def test_merged_value_replaces_a_whole_section() -> None:
    merged = make().merged({"db": "sqlite://"}, source="tests")
    assert merged["db"] == "sqlite://"
    assert "db.pool" not in merged
    assert merged.source_of("db") == "tests"


def test_merged_layers_show_up_once_in_missing_key_errors() -> None:
    merged = make().merged({"a": 1}).merged({"b": 2})
    with pytest.raises(ConfigError) as caught:
        merged.get("c")
    assert str(caught.value).splitlines()[1] == "  looked in: <code>, <override>"


def test_merged_section_stays_a_section() -> None:
    db = make().section("db").merged({"pool.size": 8})
    assert db["pool.size"] == 8
    with pytest.raises(ConfigError, match=r"config key 'db\.url' is not set"):
        db.get("url")


def test_a_config_can_be_a_value_of_another() -> None:
    db = make().section("db")
    config = Config.from_mapping({"db": db, "replica.db": db, "all": {"db": db}})
    assert config["db.pool.size"] == 5
    assert config["replica.db.pool.size"] == 5
    assert config["all.db.pool.size"] == 5


def test_copies_are_the_same_frozen_object() -> None:
    config = make()
    assert copy.copy(config) is config
    assert copy.deepcopy({"c": config})["c"] is config


def test_config_is_frozen() -> None:
    config = make()
    with pytest.raises(FrozenError) as caught:
        config["server.port"] = 1
    assert str(caught.value) == (
        "config is frozen; cannot change 'server.port'\n"
        "  fix: build a changed copy with config.merged({...})"
    )
    with pytest.raises(FrozenError):
        del config["debug"]
    with pytest.raises(FrozenError):
        config._flat = {}
    with pytest.raises(TypeError):
        config["server"]["port"] = 1
    with pytest.raises(AttributeError):
        config["server.tags"].append("c")
    assert isinstance(config["server"], MappingProxyType)
    assert config["server.tags"] == ("a", "b")


def test_input_is_copied() -> None:
    data: dict[str, Any] = {"server": {"tags": ["a"]}}
    config = Config.from_mapping(data)
    data["server"]["tags"].append("b")
    data["server"]["port"] = 1
    assert config.as_dict() == {"server": {"tags": ("a",)}}


def test_objects_are_kept_as_they_are() -> None:
    clock = Clock()
    config = Config.from_mapping({"beans": {"clock": clock, "cls": Clock, "fn": len}})
    assert config["beans.clock"] is clock
    assert config["beans.cls"] is Clock
    assert config["beans.fn"] is len


def test_keys_that_a_dotted_path_cannot_spell_stay_in_their_parent() -> None:
    config = Config.from_mapping({"hosts": {"example.com": 1, 404: "nf"}})
    assert "hosts.example.com" not in config
    assert config["hosts"]["example.com"] == 1
    assert config["hosts"][404] == "nf"


def test_empty_config_and_repr_hide_values() -> None:
    assert len(Config()) == 0
    config = Config.from_mapping({"db": {"password": "s3cret"}})
    assert "s3cret" not in repr(config)
    assert repr(config) == "<Config keys=['db']>"
    assert config == {"db": {"password": "s3cret"}}
