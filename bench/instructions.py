"""Instructions per HTTP request and per WebSocket echo, counted by valgrind: no timing noise.

    python bench/instructions.py [--count 2000] [--engines uvicorn,hypercorn]
                                 [--http raw,swoop] [--ws raw,swoop]

Throughput on a shared machine moves with whatever else runs; the number of machine
instructions a server executes for one request does not. For each point this starts the
same server process as ``bench/http.py`` / ``bench/ws.py`` (one engine on one inherited
socket) under ``valgrind --tool=cachegrind --cache-sim=no``, sends ``--count`` requests (or
WebSocket text frames, echoed) one after the other on one connection from a raw socket,
stops it by PID, and reads valgrind's instruction total. A second run with no request at all
is subtracted, so what is left is the per-request cost: engine, app and event loop.

Sequential requests on one connection wake the event loop once each, so these counts
include more loop overhead per request than a loaded server pays, where one wake-up serves
many requests: compare points with each other, not with req/s. The ratio printed (raw
instructions over the point's) is the throughput ratio the point would have if every
instruction cost the same; cache effects make real ratios somewhat lower.

Needs ``valgrind`` (Debian package). Each point takes 20-40 s.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder is sys.path[0], where bench/http.py would shadow the stdlib.
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
ENGINES = ("uvicorn", "hypercorn")
HTTP_APPS = ("raw", "swoop", "starlette", "fastapi", "litestar")
WS_APPS = ("raw", "swoop")
HELLO = b"Hello, World!"
VALGRIND = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]


def count(kind: str, engine: str, app: str, requests: int) -> int:
    """valgrind's instruction total for one server process that answered ``requests``."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    os.set_inheritable(fd, True)
    if kind == "http":
        serve = [str(ROOT / "bench" / "http.py"), "--serve", engine, app, "--fd", str(fd)]
    else:
        serve = [str(ROOT / "bench" / "ws.py"), "--serve", f"{app}@{engine}", "--fd", str(fd)]
    proc = subprocess.Popen(
        [*VALGRIND, sys.executable, *serve],
        pass_fds=[fd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONHASHSEED": "0"},  # the same dict layouts in every run
    )
    listener.close()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if line != "READY":
            raise RuntimeError(f"{engine}/{app} did not start: {line!r}")
        (_http if kind == "http" else _ws)(port, requests)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
    found = re.search(rb"I\s+refs:\s+([\d,]+)", err)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind for {engine}/{app}")
    return int(found.group(1).replace(b",", b""))


def _http(port: int, requests: int) -> None:
    client = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        done = 0
        while done < requests:
            client.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
            answer = b""
            while HELLO not in answer:
                chunk = client.recv(4096)
                if not chunk:
                    break
                answer += chunk
            if HELLO in answer:
                done += 1
            elif answer:
                raise RuntimeError(f"unexpected answer {answer[:60]!r}")
            else:  # closed between requests (hypercorn: keep_alive_max_requests, 1000)
                client.close()
                client = socket.create_connection(("127.0.0.1", port), timeout=60)
    finally:
        client.close()


def _ws(port: int, requests: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as client:
        _ws_echo(client, requests)


def _ws_echo(client: socket.socket, requests: int) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    client.sendall(
        f"GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += client.recv(4096)
    if not answer.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"no WebSocket upgrade: {answer[:40]!r}")
    frame = bytes([0x81, 0x80 | 5]) + b"\0\0\0\0" + b"hello"  # masked with a zero key
    for _ in range(requests):
        client.sendall(frame)
        echoed = b""
        while len(echoed) < 7:  # 2-byte header + "hello"
            echoed += client.recv(64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="requests per point")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--http", default="raw,swoop", help=f"apps among {HTTP_APPS}")
    parser.add_argument("--ws", default="raw,swoop", help=f"apps among {WS_APPS}")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    http = [a for a in args.http.split(",") if a]
    ws = [a for a in args.ws.split(",") if a]
    unknown = sorted(set(engines) - set(ENGINES))
    unknown += sorted(set(http) - set(HTTP_APPS)) + sorted(set(ws) - set(WS_APPS))
    if unknown:
        parser.error(f"unknown engine/app {unknown}")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install -y valgrind", file=sys.stderr)
        return 2
    print(f"instructions per request, {args.count} sequential requests on one connection")
    print(f"{'kind':<6}{'engine':<11}{'app':<11}{'instructions':>13}{'raw/app':>9}")
    for kind, apps in (("http", http), ("ws", ws)):
        for engine in engines:
            raw: float | None = None
            for app in apps:
                try:
                    idle = count(kind, engine, app, 0)
                    busy = count(kind, engine, app, args.count)
                except RuntimeError as exc:
                    print(f"skipped {kind} {engine}/{app}: {exc}", flush=True)
                    continue
                per = (busy - idle) / args.count
                raw = per if app == "raw" else raw
                ratio = f"{raw / per:.2f}" if raw else "-"
                print(f"{kind:<6}{engine:<11}{app:<11}{per:>13.0f}{ratio:>9}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
