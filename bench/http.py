"""HTTP hello-world throughput of Swoop and its peers on both engines, measured with wrk.

    python bench/http.py [--duration 10] [--warmup 2] [--connections 64] [--repeat 1]
                         [--engines hypercorn,uvicorn] [--apps raw,starlette,fastapi,litestar,swoop]

Each point runs ONE server process (an engine on one inherited socket, as a Swoop worker does)
pinned to core 0, and ``wrk -t1`` pinned to core 1. The servers of one engine all run at once
(idle ones cost nothing) and ``--repeat N`` makes N rounds over them, each point's best run
counting, so a slow spell of the machine hits every point of a comparison alike. A point
whose app cannot be imported is skipped with a note. Every server process is stopped by its
PID (SIGTERM, then SIGKILL). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder is sys.path[0], where this file would shadow the standard
# library's ``http`` for every later import (uvicorn, httpx, ...). Only stdlib modules that do
# not import ``http`` are imported above; everything else is imported inside functions.
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
ENGINES = ("hypercorn", "uvicorn")
APPS = ("raw", "starlette", "fastapi", "litestar", "swoop")
SERVER_CORE, WRK_CORE = 0, 1
HELLO = "Hello, World!"


# --- the apps, built inside the server process --------------------------------------------


def raw_app() -> Any:
    body = HELLO.encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse(HELLO)

    return Starlette(routes=[Route("/", hello)])


def fastapi_app() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI()

    @app.get("/", response_class=PlainTextResponse)
    async def hello() -> str:
        return HELLO

    return app


def litestar_app() -> Any:
    from litestar import Litestar, MediaType, get

    @get("/", media_type=MediaType.TEXT)
    async def hello() -> str:
        return HELLO

    return Litestar(route_handlers=[hello])


def swoop_app() -> Any:
    from bench.apps.swoop_hello import build

    return build()


BUILDERS: dict[str, Callable[[], Any]] = {
    "raw": raw_app,
    "starlette": starlette_app,
    "fastapi": fastapi_app,
    "litestar": litestar_app,
    "swoop": swoop_app,
}


# --- the server process --------------------------------------------------------------------


def serve(engine_name: str, app_name: str, fd: int) -> None:
    """Run one engine on the inherited socket ``fd`` until SIGTERM; print READY or SKIP."""
    import anyio

    from framework.server import EngineOptions, adopt_socket, engine_named, run

    _die_with_parent()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {SERVER_CORE})
    sock = adopt_socket(fd)
    try:
        app = BUILDERS[app_name]()
    except Exception as exc:  # any failure to build the app makes the point a skip
        sock.close()
        print(f"SKIP {type(exc).__name__}: {exc}".splitlines()[0], flush=True)
        return

    async def until_terminated() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                return

    run(
        engine_named(engine_name),
        app,
        [sock],
        shutdown_trigger=until_terminated,
        options=EngineOptions(graceful_timeout=2.0),
        ready=lambda: print("READY", flush=True),
    )


def _die_with_parent() -> None:
    # Linux: SIGTERM this process (server or wrk) if the driver dies without stopping it.
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


# --- the driver ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    engine: str
    app: str
    rps: float
    p99_ms: float
    note: str = ""
    #: the server process's CPU time (user + system) per request, in microseconds
    cpu_us: float = float("nan")
    #: req/s of every round, in order (the raw point's round i ran just before this one's)
    rounds: tuple[float, ...] = ()


@contextlib.contextmanager
def started(engine: str, app: str) -> Iterator[tuple[str, int]]:
    """One point's server process, running until the block ends: yields its URL and PID.

    Raises:
        Skip: the app could not be built, or the server did not start.
    """
    from framework.server import bind_tcp, endpoint, make_inheritable

    sock = bind_tcp("127.0.0.1", 0)
    url = f"http://{endpoint(sock)}/"
    fd = make_inheritable(sock)
    command = [sys.executable, __file__, "--serve", engine, app, "--fd", str(fd)]
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(command, pass_fds=[fd], stdout=subprocess.PIPE, stderr=stderr)
        sock.close()  # the server process holds it now
        try:
            line = _first_line(proc, timeout=60.0)
            if line != "READY":
                stderr.seek(0)
                tail = stderr.read().decode(errors="replace").strip().splitlines()[-1:]
                raise Skip(line.removeprefix("SKIP ") or f"server did not start: {tail}")
            yield url, proc.pid
        finally:
            stop(proc)


class Skip(Exception):
    """A point that cannot run here (its app is not installed, its server did not start)."""


def measure_engine(engine: str, apps: list[str], args: argparse.Namespace) -> list[Result]:
    """Every app of one engine: all servers started (idle ones cost nothing), each warmed up,
    then ``--repeat`` rounds that run each app in turn, so a slow minute of the machine hits
    every point of a comparison alike. Each point reports its best req/s and its lowest
    server CPU time per request (each from its own run)."""
    runs: dict[str, list[Result]] = {}
    with contextlib.ExitStack() as stack:
        servers: dict[str, tuple[str, int]] = {}
        for app in apps:
            try:
                servers[app] = stack.enter_context(started(engine, app))
            except Skip as skip:
                print(f"skipped {engine}/{app}: {skip}", flush=True)
                continue
            if args.warmup > 0:
                wrk(servers[app][0], args.warmup, args.connections)
        for _ in range(max(args.repeat, 1)):
            for app, (url, pid) in servers.items():
                before = cpu_seconds(pid)
                output = wrk(url, args.duration, args.connections)
                cpu_us = (cpu_seconds(pid) - before) / requests(output) * 1e6
                result = dataclasses.replace(parse(engine, app, output), cpu_us=cpu_us)
                print(
                    f"measured {engine}/{app}: {result.rps:.0f} req/s, "
                    f"{result.cpu_us:.1f} us CPU/request",
                    flush=True,
                )
                runs.setdefault(app, []).append(result)
    return [
        dataclasses.replace(
            max(results, key=lambda r: r.rps),
            cpu_us=min(r.cpu_us for r in results),
            rounds=tuple(r.rps for r in results),
        )
        for results in runs.values()
    ]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def requests(output: str) -> int:
    """How many requests ``wrk`` completed."""
    found = re.search(r"(\d+) requests in", output)
    if found is None:
        raise RuntimeError(f"cannot parse wrk output:\n{output}")
    return int(found.group(1))


def _first_line(proc: subprocess.Popen[bytes], *, timeout: float) -> str:
    assert proc.stdout is not None
    readable, _, _ = select.select([proc.stdout], [], [], timeout)
    if not readable:
        return "timed out waiting for READY"
    return proc.stdout.readline().decode().strip()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server by its PID: SIGTERM (graceful), SIGKILL if it is still there."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def wrk(url: str, duration: int, connections: int) -> str:
    pin = ["taskset", "-c", str(WRK_CORE)] if _can_pin() else []
    command = [*pin, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, preexec_fn=_die_with_parent
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def parse(engine: str, app: str, output: str) -> Result:
    """Req/s and p99 latency (ms) from ``wrk --latency`` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\b", output, re.MULTILINE)
    if rps is None or p99 is None:
        raise RuntimeError(f"cannot parse wrk output:\n{output}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    notes = []
    if errors := re.search(r"Socket errors: (.*)", output):
        notes.append(f"socket errors: {errors.group(1)}")
    if non_2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        notes.append(f"{non_2xx.group(1)} non-2xx")
    return Result(engine, app, float(rps.group(1)), float(p99.group(1)) * scale, "; ".join(notes))


def _load() -> str:
    return "load average " + " ".join(f"{n:.2f}" for n in os.getloadavg())


def _can_pin() -> bool:
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) > 1


def table(results: list[Result]) -> str:
    raw = {r.engine: r for r in results if r.app == "raw"}
    lines = [
        f"{'engine':<10} {'app':<10} {'req/s':>9} {'p99 ms':>8} {'vs raw':>7}"
        f" {'CPU us/req':>11} {'vs raw':>7}  note"
    ]
    for r in results:
        peer = raw.get(r.engine)
        ratio = f"{r.rps / peer.rps:.2f}" if peer else "-"
        # the raw app's CPU per request over this one's: the req/s ratio on a core of its own
        cpu_ratio = f"{peer.cpu_us / r.cpu_us:.2f}" if peer else "-"
        line = (
            f"{r.engine:<10} {r.app:<10} {r.rps:>9.0f} {r.p99_ms:>8.2f} {ratio:>7}"
            f" {r.cpu_us:>11.1f} {cpu_ratio:>7}  {r.note}"
        )
        lines.append(line.rstrip())
    for r in results:
        peer = raw.get(r.engine)
        if peer is None or r is peer or len(r.rounds) < 2 or len(r.rounds) != len(peer.rounds):
            continue
        # each round ran the points back to back: the ratio inside a round cancels most of a
        # slow spell of the machine, and their spread shows how much the best-of moved
        paired = sorted(ours / theirs for ours, theirs in zip(r.rounds, peer.rounds, strict=True))
        lines.append(
            f"{r.engine}/{r.app} vs raw, round by round: median {statistics.median(paired):.2f}"
            f" (from {paired[0]:.2f} to {paired[-1]:.2f} over {len(paired)} rounds)"
        )
    on_uvicorn = {r.app: r.rps for r in results if r.engine == "uvicorn"}
    for peer in ("litestar", "fastapi"):
        if "swoop" in on_uvicorn and peer in on_uvicorn:
            ratio = on_uvicorn["swoop"] / on_uvicorn[peer]
            lines.append(f"Swoop/{peer.capitalize()} on uvicorn: {ratio:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per point")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds (0: none)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds over the points; each point's best counts"
    )
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--apps", default=",".join(APPS))
    parser.add_argument("--serve", nargs=2, metavar=("ENGINE", "APP"), help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(*args.serve, fd=args.fd)
        return 0
    engines, apps = args.engines.split(","), list(dict.fromkeys(args.apps.split(",")))
    unknown = sorted(set(engines) - set(ENGINES)) + sorted(set(apps) - set(APPS))
    if unknown:
        parser.error(f"unknown engine/app {unknown}; engines: {ENGINES}, apps: {APPS}")
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so every server is stopped by PID.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    pinning = (
        f"server on core {SERVER_CORE}, wrk on core {WRK_CORE}" if _can_pin() else "no pinning"
    )
    setup = f"wrk -t1 -c{args.connections} -d{args.duration}s --latency"
    setup += f", best of {args.repeat} rounds"
    print(f"{setup}; {pinning}; {_load()}")
    results = [result for engine in engines for result in measure_engine(engine, apps, args)]
    print()
    print(table(results))
    print(f"at the end: {_load()} (other work on these cores skews the numbers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
