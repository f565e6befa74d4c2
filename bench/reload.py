"""Zero-downtime reload and respawn of the process manager, under wrk load.

    python bench/reload.py [--workers 2] [--reloads 5] [--connections 32] [--engine hypercorn]

It creates an app with ``appctl create:app`` in a temporary directory, starts it as a daemon
on a free loopback port, then:

1. runs wrk for the whole reload phase while it edits ``app/controller/home.py`` and runs
   ``appctl http:reload`` ``--reloads`` times; for each reload it measures the time from
   invoking ``reload`` until a fresh connection gets the new response;
2. runs wrk again, ``kill -9``s one worker, and measures the time until the master reports
   its replacement READY (the respawn time);
3. stops the server (``appctl http:stop``) and checks that nothing is left.

It prints failed requests (wrk's socket errors plus non-2xx answers; goal: 0 across the
reloads), the reload-to-new-code time (goal: < 2 s) and the respawn time (goal: < 1 s), and
exits non-zero when a goal is missed. Requests failing during the kill are reported but have
no goal: the killed worker's in-flight requests are lost by definition. Needs ``wrk``
(``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # never shadow the standard library's http with bench/http.py

APPCTL = [sys.executable, "-m", "framework.cli"]
GOAL_RELOAD_S = 2.0
GOAL_RESPAWN_S = 1.0


@dataclass
class WrkResult:
    requests: int = 0
    errors: int = 0
    non_2xx: int = 0
    rps: float = 0.0
    output: str = ""

    @property
    def failed(self) -> int:
        return self.errors + self.non_2xx


def parse_wrk(output: str) -> WrkResult:
    result = WrkResult(output=output)
    if match := re.search(r"(\d+) requests in", output):
        result.requests = int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        result.errors = sum(int(g) for g in match.groups())
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result.non_2xx = int(match.group(1))
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result.rps = float(match.group(1))
    return result


class Wrk:
    """wrk in the background for ``duration`` seconds."""

    def __init__(self, url: str, duration: float, connections: int) -> None:
        # wrk gets one thread on the last core when there are several, so that it does
        # not starve the server (and the booting workers) of CPU
        cores = os.cpu_count() or 1
        pin = ["taskset", "-c", str(cores - 1)] if cores > 1 and shutil.which("taskset") else []
        self.proc = subprocess.Popen(
            [*pin, "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def result(self) -> WrkResult:
        output, _ = self.proc.communicate(timeout=120)
        return parse_wrk(output)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def appctl(app_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [*APPCTL, "-C", str(app_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise SystemExit(f"appctl {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> str | None:
    import httpx

    try:
        with httpx.Client(timeout=5.0) as client:  # a fresh connection every time
            return client.get(url).text
    except httpx.HTTPError:
        return None


def status(app_dir: Path) -> dict[str, Any]:
    from framework.process import control
    from framework.process.runtime import RuntimePaths

    paths = RuntimePaths.of(app_dir, "http")
    return control.request(paths.control, {"cmd": "status"}, timeout=5.0)


def ready_pids(app_dir: Path) -> list[int]:
    return [r["pid"] for r in status(app_dir)["rows"] if r["state"] == "ready"]


def reload_phase(app_dir: Path, url: str, reloads: int, connections: int) -> tuple[Any, ...]:
    home = app_dir / "app" / "controller" / "home.py"
    original = home.read_text()
    wrk = Wrk(url, duration=reloads * 3.0 + 2.0, connections=connections)
    times: list[float] = []
    try:
        time.sleep(1.0)
        for n in range(1, reloads + 1):
            marker = f"swoop reload {n}"
            home.write_text(original.replace('"framework": "swoop"', f'"framework": "{marker}"'))
            began = time.monotonic()
            reload = subprocess.Popen(
                [*APPCTL, "-C", str(app_dir), "http:reload"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            while marker not in (get(url) or ""):
                if time.monotonic() - began > 30:
                    raise SystemExit(f"reload {n}: the new code did not serve within 30 s")
                time.sleep(0.01)
            times.append(time.monotonic() - began)
            _, err = reload.communicate(timeout=120)
            if reload.returncode != 0:
                raise SystemExit(f"reload {n} failed:\n{err}")
            time.sleep(0.5)
        result = wrk.result()
    finally:
        wrk.kill()
    return result, times


def kill_phase(app_dir: Path, url: str, connections: int) -> tuple[WrkResult, float]:
    wrk = Wrk(url, duration=4.0, connections=connections)
    try:
        time.sleep(1.0)
        before = ready_pids(app_dir)
        victim = before[0]
        began = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        while True:
            pids = ready_pids(app_dir)
            if victim not in pids and len(pids) == len(before):
                respawn = time.monotonic() - began
                break
            if time.monotonic() - began > 30:
                raise SystemExit("the killed worker was not replaced within 30 s")
            time.sleep(0.005)
        return wrk.result(), respawn
    finally:
        wrk.kill()


def report(reload_wrk: WrkResult, times: list[float], kill_wrk: WrkResult, respawn: float) -> bool:
    worst = max(times)
    rows = [
        ("failed requests across reloads", f"{reload_wrk.failed}", "0", reload_wrk.failed == 0),
        (
            "reload -> new code serving (max)",
            f"{worst:.2f} s",
            f"< {GOAL_RELOAD_S:g} s",
            worst < GOAL_RELOAD_S,
        ),
        (
            "respawn after kill -9",
            f"{respawn:.2f} s",
            f"< {GOAL_RESPAWN_S:g} s",
            respawn < GOAL_RESPAWN_S,
        ),
        ("failed requests around the kill", f"{kill_wrk.failed}", "-", True),
    ]
    print()
    print(f"{'measure':<34} {'value':>10}  {'goal':>7}  result")
    for name, value, goal, ok in rows:
        print(f"{name:<34} {value:>10}  {goal:>7}  {'ok' if ok else 'MISSED'}")
    print()
    print("reload times: " + ", ".join(f"{t:.2f}" for t in times) + " s")
    print(
        f"reload phase: {reload_wrk.requests} requests, {reload_wrk.rps:.0f} req/s, "
        f"{reload_wrk.errors} socket errors, {reload_wrk.non_2xx} non-2xx"
    )
    print(
        f"kill phase:   {kill_wrk.requests} requests, {kill_wrk.rps:.0f} req/s, "
        f"{kill_wrk.errors} socket errors, {kill_wrk.non_2xx} non-2xx"
    )
    return all(ok for *_, ok in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reloads", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--engine", default="hypercorn", choices=["hypercorn", "uvicorn"])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    env = {**os.environ, "SWOOP_SERVER__ACCESS_LOG": "0", "SWOOP_SERVER__ENGINE": args.engine}
    with tempfile.TemporaryDirectory(prefix="swoop-reload-") as tmp:
        appctl(Path(tmp), "create:app", "bench", "--type", "http")
        app_dir = Path(tmp) / "bench"
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        flags = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
        print(appctl(app_dir, "http:start", "-d", *flags, env=env).strip())
        try:
            print(f"reload phase: {args.reloads} reloads under wrk -c{args.connections} ...")
            reload_wrk, times = reload_phase(app_dir, url, args.reloads, args.connections)
            print("kill phase: kill -9 one worker under wrk ...")
            kill_wrk, respawn = kill_phase(app_dir, url, args.connections)
        finally:
            stop(app_dir)
    return 0 if report(reload_wrk, times, kill_wrk, respawn) else 1


def stop(app_dir: Path) -> None:
    pid_file = app_dir / "runtime" / "http.pid"
    if not pid_file.exists():
        return
    master = int(pid_file.read_text() or 0)
    try:
        appctl(app_dir, "http:stop", "--timeout", "10")
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        if master:
            os.kill(master, signal.SIGKILL)  # its workers exit when their master is gone


if __name__ == "__main__":
    threading.current_thread().name = "bench-reload"
    sys.exit(main())
