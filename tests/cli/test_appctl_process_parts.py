"""The process manager's parts on their own: wire format, pid file, settings, meter, views."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.cli.tables import duration, render_status, table
from framework.config import Config
from framework.process.boot import missing_extensions
from framework.process.errors import AlreadyRunningError, ProcessError
from framework.process.kinds import KINDS
from framework.process.meter import Meter
from framework.process.pidfile import PidFile, read_running
from framework.process.protocol import MAX_LINE, LineDecoder, ProtocolError, encode
from framework.process.settings import ServerSettings

# -- protocol ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(st.lists(st.dictionaries(st.text(), json_values, max_size=4), max_size=4), st.integers(1, 7))
def test_messages_round_trip_in_any_chunking(messages: list[dict[str, Any]], size: int) -> None:
    data = b"".join(encode(m) for m in messages)
    decoder = LineDecoder()
    received: list[dict[str, Any]] = []
    for start in range(0, len(data), size):
        received.extend(decoder.feed(data[start : start + size]))
    assert received == messages


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_protocol_error(data: bytes) -> None:
    try:
        LineDecoder().feed(data + b"\n")
    except ProtocolError:
        pass


def test_non_objects_and_endless_lines_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError, match="expected a JSON object"):
        LineDecoder().feed(b"[1, 2]\n")
    with pytest.raises(ProtocolError, match="longer than"):
        LineDecoder().feed(b"x" * (MAX_LINE + 1))


# -- pid file ---------------------------------------------------------------------------


def test_a_locked_pid_file_means_running(tmp_path: Path) -> None:
    path = tmp_path / "runtime" / "http.pid"
    pidfile = PidFile.acquire(path, server="http")
    pidfile.write()
    try:
        assert read_running(path) == os.getpid()
        with pytest.raises(AlreadyRunningError, match=rf"already running \(pid {os.getpid()}\)"):
            PidFile.acquire(path, server="http")
    finally:
        pidfile.release()
    assert not path.exists()
    assert read_running(path) is None


def test_a_stale_pid_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "http.pid"
    path.write_text("999999\n")  # no process holds its lock
    pidfile = PidFile.acquire(path)
    try:
        assert pidfile.stale_pid == 999999
        pidfile.write()
        assert path.read_text() == f"{os.getpid()}\n"
    finally:
        pidfile.release()


def test_the_lock_of_a_dead_process_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "http.pid"
    script = (
        "import sys; from pathlib import Path; from framework.process.pidfile import PidFile; "
        "PidFile.acquire(Path(sys.argv[1])).write()"  # exits without releasing
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=30)
    assert path.exists()
    assert read_running(path) is None
    assert not path.exists()


# -- settings ---------------------------------------------------------------------------


def settings(kind: str, config: dict[str, Any], **overrides: Any) -> ServerSettings:
    return ServerSettings.resolve(
        KINDS[kind], Path("/srv/app"), Config.from_mapping(config), overrides
    )


def test_defaults_per_kind() -> None:
    http = settings("http", {})
    assert (http.host, http.port, http.workers) == ("0.0.0.0", 18306, len(os.sched_getaffinity(0)))
    assert settings("ws", {}).port == 18308
    assert settings("tcp", {}).port == 18309
    assert settings("rpc", {}).port == 18307
    assert http.paths.pid_file == Path("/srv/app/runtime/http.pid")
    assert http.paths.control == Path("/srv/app/runtime/http.sock")
    assert http.paths.app_log == Path("/srv/app/runtime/logs/http.log")
    assert http.paths.access_log == Path("/srv/app/runtime/logs/http.access.log")


def test_kind_sections_win_over_server_keys_and_flags_win_over_both() -> None:
    config = {"server": {"port": 9000, "workers": 3, "ws": {"port": 9001, "workers": 5}}}
    assert settings("http", config).port == 9000
    assert (settings("ws", config).port, settings("ws", config).workers) == (9001, 5)
    assert settings("tcp", config).port == 18309  # server.port is the http server's
    assert settings("tcp", config).workers == 3
    flagged = settings("http", config, port=9100, workers=None, host="127.0.0.1")
    assert (flagged.port, flagged.workers, flagged.host) == (9100, 3, "127.0.0.1")
    assert flagged.overrides == {"port": 9100, "host": "127.0.0.1"}


def test_paths_from_config() -> None:
    config = {"server": {"pid_file": "var/{server}.pid", "log_dir": "/var/log/app"}}
    paths = settings("http", config).paths
    assert paths.pid_file == Path("/srv/app/var/http.pid")
    assert paths.app_log == Path("/var/log/app/http.log")


def test_out_of_range_values_are_errors() -> None:
    with pytest.raises(ProcessError, match="workers must be at least 1"):
        settings("http", {"server": {"workers": 0}})
    with pytest.raises(ProcessError, match="not between 0 and 65535"):
        settings("http", {}, port=70000)


def test_missing_extensions_skips_the_configured_ones() -> None:
    http = KINDS["http"]
    assert missing_extensions(http, []) in ([], ["framework.http:HttpExtension"])
    assert missing_extensions(http, ["framework.http:HttpExtension"]) == []
    from framework.http import HttpExtension

    assert missing_extensions(http, [HttpExtension()]) == []


# -- meter ------------------------------------------------------------------------------


async def _answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _serve(meter: Meter, version: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await meter({"type": "http", "http_version": version}, None, send)
    return sent


async def test_the_meter_counts_and_closes_keep_alive_while_draining() -> None:
    meter = Meter(_answer)
    assert (await _serve(meter, "1.1"))[0]["headers"] == [(b"x", b"1")]
    meter.draining = True
    assert (await _serve(meter, "1.1"))[0]["headers"] == [(b"x", b"1"), (b"connection", b"close")]
    assert (await _serve(meter, "2"))[0]["headers"] == [(b"x", b"1")]  # h2 has no such header
    assert (meter.requests, meter.inflight) == (3, 0)
    assert 0.0 < meter.quiet_for() < 5.0


async def test_the_meter_is_not_quiet_while_a_request_is_in_flight() -> None:
    entered, release = anyio.Event(), anyio.Event()

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        entered.set()
        await release.wait()
        await _answer(scope, receive, send)

    meter = Meter(slow)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_serve, meter, "1.1")
        await entered.wait()
        await anyio.sleep(0.05)
        assert (meter.inflight, meter.quiet_for()) == (1, 0.0)
        release.set()
    assert meter.inflight == 0
    first = meter.quiet_for()
    await anyio.sleep(0.05)
    assert 0.0 < first < meter.quiet_for() < 5.0


# -- views ------------------------------------------------------------------------------


def test_table_and_duration() -> None:
    assert table(["a", "bb"], [[1, None], ["long", 2]]) == "a     bb\n1     -\nlong  2"
    assert duration(3725) == "01:02:05"
    assert duration(90000) == "1d 01:00:00"


def test_render_status_shows_the_header_and_one_row_per_worker() -> None:
    status = {
        "title": "HTTP",
        "swoop": "0.1.0",
        "python": "3.11.7",
        "pid": 100,
        "listen": "http://127.0.0.1:18306",
        "started": 1_700_000_000.0,
        "now": 1_700_000_061.0,
        "load": [0.5, 0.25, 0.125],
        "workers": 2,
        "state": "running",
        "daemon": True,
        "rows": [
            {
                "pid": 101,
                "slot": 0,
                "state": "ready",
                "rss": 32 * 1024 * 1024,
                "connections": 3,
                "requests": 1200,
                "qps": 55.5,
                "started": 1_700_000_001.0,
            },
            {
                "pid": 102,
                "slot": 1,
                "state": "draining",
                "rss": None,
                "connections": None,
                "requests": 7,
                "qps": 0,
                "started": 1_700_000_060.0,
            },
        ],
    }
    text = render_status(status)
    assert "Swoop version: 0.1.0" in text and "Python version: 3.11.7" in text
    assert "uptime: 00:01:01" in text and "load average: 0.50, 0.25, 0.12" in text
    assert "master pid: 100" in text and "workers: 2" in text and "(daemon)" in text
    rows = [line.split() for line in text.splitlines() if line[:3] in ("101", "102")]
    assert rows == [
        ["101", "0", "ready", "32.0M", "3", "1200", "55.5", "00:01:00"],
        ["102", "1", "draining", "-", "-", "7", "0.0", "00:00:01"],
    ]


def test_render_status_adds_the_gateway_counters_of_ws_workers() -> None:
    bus = {"bus": "hub", "uids": 2, "groups": 1, "messages_in": 40, "messages_out": 41}
    status = {
        "title": "WebSocket",
        "swoop": "0.1.0",
        "python": "3.11.7",
        "pid": 200,
        "listen": "http://127.0.0.1:18308",
        "started": 1_700_000_000.0,
        "now": 1_700_000_010.0,
        "load": None,
        "workers": 1,
        "state": "running",
        "rows": [
            {
                "pid": 201,
                "slot": 0,
                "state": "ready",
                "rss": None,
                "connections": 5,
                "requests": 9,
                "qps": 1.0,
                "started": 1_700_000_001.0,
                "bus": {**bus, "dropped": 3, "reconnects": 1},
            }
        ],
    }
    lines = render_status(status).splitlines()
    gateway = lines.index(next(line for line in lines if "GATEWAY" in line))
    assert lines[gateway + 1].split() == [
        "pid", "bus", "uids", "groups", "msgs", "in", "msgs", "out", "dropped", "reconnects",
    ]  # fmt: skip
    assert lines[gateway + 2].split() == ["201", "hub", "2", "1", "40", "41", "3", "1"]


def test_render_status_lists_the_gateways_of_a_split_server() -> None:
    status = {
        "title": "WebSocket",
        "swoop": "0.1.0",
        "python": "3.11.7",
        "pid": 300,
        "listen": "http://127.0.0.1:18308",
        "started": 1_700_000_000.0,
        "now": 1_700_000_010.0,
        "load": None,
        "workers": 2,
        "state": "running",
        "rows": [],
        "split": True,
        "gateways": [
            {
                "index": 0,
                "pid": 301,
                "state": "ready",
                "connections": 12,
                "ready_links": 2,
                "in": 90,
                "out": 95,
                "http": 4,
                "resent": 1,
                "lost": 0,
                "refused": 0,
                "dropped": 2,
            }
        ],
    }
    lines = render_status(status).splitlines()
    title = lines.index(next(line for line in lines if "SPLIT GATEWAYS" in line))
    assert lines[title + 1].split() == [
        "pid", "gateway", "state", "conns", "workers", "in", "out", "http", "resent", "lost",
        "refused", "dropped",
    ]  # fmt: skip
    assert lines[title + 2].split() == [
        "301", "gw0", "ready", "12", "2", "90", "95", "4", "1", "0", "0", "2",
    ]  # fmt: skip
