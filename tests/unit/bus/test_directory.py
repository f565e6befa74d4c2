"""The hub's cluster state: what workers report, what it answers, where it routes."""

from __future__ import annotations

from framework.bus.directory import Directory
from framework.websocket.bus import Target


def test_reports_queries_and_routes() -> None:
    d = Directory()
    d.open("w1", "a")
    d.open("w1", "b")
    d.open("w2", "c")
    assert d.apply("w1", "bind", ["a", "ada"]) and d.apply("w2", "bind", ["c", "ada"])
    assert not d.apply("w2", "bind", ["a", "eve"])  # not w2's client
    for client, worker in (("a", "w1"), ("b", "w1"), ("c", "w2")):
        d.apply(worker, "join", [client, "room"])
    assert sorted(d.answer("client_ids_by_uid", ["ada"])) == ["a", "c"]
    assert d.answer("group_count", ["room"]) == 3 and d.answer("all_count", []) == 3
    assert d.answer("uid_by_client", ["a"]) == "ada" and d.answer("is_uid_online", ["ada"])
    assert d.route(Target.GROUP, ["room"], "w1") == {"w2"}
    assert d.route(Target.UID, ["ada", "nobody"], None) == {"w1", "w2"}
    assert d.route(Target.CLIENT, ["b", "zz"], "w2") == {"w1"}
    assert d.route(Target.ALL, [], "w2") == {"w1"}

    d.apply("w1", "bind", ["a", "bob"])  # rebinding replaces
    assert d.answer("client_ids_by_uid", ["ada"]) == ["c"]
    d.apply("w1", "leave", ["b", "room"])
    d.apply("w1", "gone", ["a", "bob", ["room"]])
    assert d.answer("group_client_ids", ["room"]) == ["c"] and not d.answer("is_online", ["a"])
    assert d.route(Target.GROUP, ["room"], None) == {"w2"}
    assert not d.answer("is_uid_online", ["bob"])


def test_worker_leaving_and_snapshots() -> None:
    d = Directory()
    d.load("w1", [["a", "ada", ["g1", "g2"]], ["b", None, []]])
    d.load("w2", [["c", "ada", ["g1"]]])
    assert d.answer("group_count", ["g1"]) == 2 and d.answer("all_count", []) == 3
    d.load("w1", [["b", "bob", []]])  # a new snapshot replaces the old state
    assert d.answer("client_ids_by_uid", ["ada"]) == ["c"] and d.answer("group_count", ["g2"]) == 0
    assert d.drop_worker("w2") == 1
    assert d.answer("all_count", []) == 1 and not d.answer("is_uid_online", ["ada"])
    assert d.groups.holders == {} and d.route(Target.GROUP, ["g1"], None) == set()


def test_ungroup_names_the_workers_to_tell() -> None:
    d = Directory()
    d.load("w1", [["a", None, ["g"]]])
    d.load("w2", [["b", None, ["g"]]])
    assert d.ungroup("g") == {"w1", "w2"} and d.answer("group_count", ["g"]) == 0
    assert d.clients["a"].groups == set()
