"""WebSocket throughput and memory of Swoop and its peers, measured with wsblast.

    python bench/ws.py [--duration 8] [--warmup 1] [--modes echo,bcast,idle]
                       [--points raw@hypercorn,swoop@hypercorn,raw@uvicorn,swoop@uvicorn,websockets]
                       [--echo-conns 50] [--bcast-conns 1000] [--idle-conns 5000] [--hold 30]
                       [--repeat 1]
                       [--scale] [--hosts] [--split [--split-points swoop-split@hypercorn]]

Each point runs ONE server process on one inherited socket (as a Swoop worker does), pinned
to core 0, and the load client ``wsblast`` (/work/shared/tools/wsblast.c, built with gcc on
first use) pinned to core 1. Every server answers the same convention: a message starting
with ``B`` is broadcast (without the ``B``) to every connection, anything else is echoed.

- ``raw``: a bare ASGI WebSocket app on the engine (echo; broadcast awaits each send);
- ``swoop``: a ``@ws_module`` with the raw parser, a default command and ``Gateway.send_to_all``;
- ``websockets``: the ``websockets`` library's own server (``websockets.broadcast``).

On uvicorn both ``raw`` and ``swoop`` run on Swoop's WebSocket protocol
(``server.ws_protocol = "swoop"``, the default); ``raw@uvicorn-wsproto`` and
``swoop@uvicorn-wsproto`` (not run unless named in ``--points``) use uvicorn's own.

Modes: ``echo`` (round-trips/s over 50 connections), ``bcast`` (deliveries/s to 1000
clients, time until all have a message, p50), ``idle`` (server RSS growth per idle
connection with 5000 connections open). Every server is stopped by its PID. ``--repeat N``
runs echo and bcast in N rounds over the points (each point's best run counts), so a slow
spell of the machine hits every point of a comparison alike.

``--scale`` adds the scale-out points (echo and bcast), run as a user runs Swoop: a generated
ws app (``appctl create:app --type ws``) with a raw-parser module ``/blast`` implementing the
same convention through ``Gateway.send_to_all``, started with ``appctl ws:start -d
--workers N`` (N = 1, 2; with 2 the master's hub carries the broadcast across workers).
``swoop-w1`` is pinned to core 0 and wsblast to core 1 as above; ``swoop-w2`` spreads over
both cores and wsblast is not pinned, so on a 2-core machine the load client competes with
the workers and the ratio is CPU-bound. ``--points ''`` runs only the scale points.

``--split`` adds the gateway/business split (``ws.split = true``) to the echo mode: the same
generated app run by ``appctl ws:start -d --workers 1`` with one gateway process holding the
WebSockets and one business worker running the handler, each message crossing the Unix
socket between them twice (there and back), against ``swoop-w1`` (one worker, no split).
Both points run the whole appctl process tree pinned to core 0 (the same CPU budget) and
wsblast on core 1. ``--split-points`` picks the engines.

``--hosts`` adds broadcast over two hosts sharing a Redis bus (``ws.bus = "redis://..."``,
a throwaway ``redis-server`` started and stopped by the benchmark): two server processes
with distinct ``ws.node`` names, each with its own socket bound to the same port with
SO_REUSEPORT, so the kernel spreads the 1000 clients over both as a load balancer in front
of two machines would; a broadcast from a client on one host reaches the other through
Redis. Compared with the one-host ``swoop@<engine>`` point when it ran in the same call.
"""

import argparse
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
APPCTL = [sys.executable, "-m", "framework.cli"]
WSBLAST_SOURCE = Path("/work/shared/tools/wsblast.c")
WSBLAST = Path(tempfile.gettempdir()) / "wsblast"
SERVER_CORE, CLIENT_CORE = 0, 1
POINTS = ("raw@hypercorn", "swoop@hypercorn", "raw@uvicorn", "swoop@uvicorn", "websockets")
#: Accepted by --points but not run by default: the engines with uvicorn's own protocol.
EXTRA_POINTS = ("raw@uvicorn-wsproto", "swoop@uvicorn-wsproto")
MODES = ("echo", "bcast", "idle")
SCALE_POINTS = ("swoop-w1@hypercorn", "swoop-w2@hypercorn", "swoop-w1@uvicorn", "swoop-w2@uvicorn")
SCALE_MODES = ("echo", "bcast")
#: The modes --repeat runs in rounds, and the number that picks each point's best run.
BEST_OF = {"echo": "rps", "bcast": "deliveries_per_s"}
HOSTS_POINTS = ("swoop-hosts2@hypercorn", "swoop-hosts2@uvicorn")
SPLIT_POINTS = ("swoop-split@hypercorn", "swoop-split@uvicorn")
BLAST_MODULE = '''"""wsblast's convention: B... goes to everyone, anything else is echoed."""

from framework.websocket import Gateway, message_mapping, ws_controller, ws_module


@ws_controller("")
class Blast:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @message_mapping("blast")
    async def blast(self, data: str) -> str | None:
        if data.startswith("B"):
            await self.gateway.send_to_all(data[1:])
            return None
        return data


@ws_module("/blast", controllers=[Blast], parser="raw", default_command="blast")
class BlastModule:
    pass
'''


# --- the servers, built inside the server process ------------------------------------------


def raw_app() -> Any:
    clients: set[Any] = set()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        clients.add(send)
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is not None and text.startswith("B"):
                    out = {"type": "websocket.send", "text": text[1:]}
                    for client in list(clients):
                        try:
                            await client(out)
                        except Exception:
                            clients.discard(client)
                else:
                    await send(message | {"type": "websocket.send"})
        finally:
            clients.discard(send)

    return app


def swoop_app() -> Any:
    from framework import Application
    from framework.websocket import WebSocketExtension, ws_asgi_app

    # the same handler as the appctl points' module, served at "/" here
    blast: dict[str, Any] = {}
    exec(compile(BLAST_MODULE.replace('"/blast"', '"/"'), "<blast>", "exec"), blast)
    Blast, BlastModule = blast["Blast"], blast["BlastModule"]

    ws: dict[str, Any] = {}
    if os.environ.get("BENCH_WS_BUS"):  # a --hosts point: this process is one host
        ws = {"bus": os.environ["BENCH_WS_BUS"], "node": os.environ["BENCH_WS_NODE"]}
    app = Application.from_classes(
        BlastModule, Blast, extensions=[WebSocketExtension()], config={"ws": ws}
    )
    return ws_asgi_app(app)


def serve_websockets(sock: Any) -> None:
    import asyncio

    from websockets.asyncio.server import broadcast, serve

    async def main() -> None:
        clients: set[Any] = set()

        async def handler(ws: Any) -> None:
            clients.add(ws)
            try:
                async for message in ws:
                    if isinstance(message, str) and message.startswith("B"):
                        broadcast(clients, message[1:])
                    else:
                        await ws.send(message)
            finally:
                clients.discard(ws)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with serve(handler, sock=sock, compression=None, ping_interval=None, max_queue=None):
            print("READY", flush=True)
            await stop.wait()

    asyncio.run(main())


def serve(point: str, fd: int) -> None:
    """Run one server on the inherited socket ``fd`` until SIGTERM; print READY."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {int(os.environ.get("BENCH_CORE", SERVER_CORE))})
    from framework.server import EngineOptions, adopt_socket, engine_named, run

    sock = adopt_socket(fd)
    if point == "websockets":
        serve_websockets(sock)
        return
    app_name, _, engine = point.partition("@")
    app = raw_app() if app_name == "raw" else swoop_app()

    async def until_terminated() -> None:
        import anyio

        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                return

    run(
        # "uvicorn-wsproto": uvicorn with its own wsproto protocol instead of Swoop's
        engine_named(engine.partition("-")[0], ws_protocol=engine.partition("-")[2] or "swoop"),
        app,
        [sock],
        shutdown_trigger=until_terminated,
        options=EngineOptions(graceful_timeout=1.0, keep_alive_timeout=60.0, backlog=4096),
        ready=lambda: print("READY", flush=True),
    )


# --- the driver ----------------------------------------------------------------------------


def build_wsblast() -> Path:
    if not WSBLAST.exists() or WSBLAST.stat().st_mtime < WSBLAST_SOURCE.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-o", str(WSBLAST), str(WSBLAST_SOURCE)], check=True)
    return WSBLAST


def _pin(core: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(core)]
    return []


class Server:
    """One server process on a fresh port; stopped by PID (SIGTERM, then SIGKILL)."""

    def __init__(self, point: str) -> None:
        from framework.server import bind_tcp, endpoint, make_inheritable

        sock = bind_tcp("127.0.0.1", 0, backlog=4096)
        self.port = int(endpoint(sock).rsplit(":", 1)[1])
        fd = make_inheritable(sock)
        command = [sys.executable, __file__, "--serve", point, "--fd", str(fd)]
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            command, pass_fds=[fd], stdout=subprocess.PIPE, stderr=self.stderr
        )
        sock.close()
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60.0)
        line = self.proc.stdout.readline().decode().strip() if ready else ""
        if line != "READY":
            self.stderr.seek(0)
            tail = self.stderr.read().decode(errors="replace").strip().splitlines()[-3:]
            self.stop()
            raise RuntimeError(f"{point} did not start: {tail}")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


def appctl(
    app_dir: Path, *args: str, prefix: list[str] | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    command = [*(prefix or []), *APPCTL, "-C", str(app_dir), *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


class AppServer:
    """``swoop-wN@engine``: a generated ws app with the /blast module, run by appctl with N
    workers; stopped with ``ws:stop``, then every PID seen in ``ws:status`` is killed."""

    path = "/blast"

    def __init__(self, point: str) -> None:
        name, _, engine = point.partition("@")
        self.split = name == "swoop-split"  # 1 gateway + 1 business worker
        self.workers = 1 if self.split else int(name.rpartition("-w")[2])
        self.root = Path(tempfile.mkdtemp(prefix="swoop-bench-ws-"))
        self.app_dir = self.root / "blast"
        self.pids: set[int] = set()
        created = appctl(self.root, "create:app", "blast", "--type", "ws")
        if created.returncode != 0:
            shutil.rmtree(self.root, ignore_errors=True)
            raise RuntimeError(f"create:app failed: {created.stderr.strip()[-300:]}")
        (self.app_dir / "app" / "websocket" / "blast.py").write_text(BLAST_MODULE)
        config = self.app_dir / "config"
        server = (config / "server.py").read_text()
        server = server.replace('engine = "hypercorn"', f'engine = "{engine}"')
        (config / "server.py").write_text(server.replace("access_log = True", "access_log = False"))
        ws = (config / "ws.py").read_text()  # no per-connection rate limit: this is a load test
        ws = ws.replace("rate_limit = 20.0", "rate_limit = 1e9").replace(
            "rate_burst = 40.0", "rate_burst = 1e9"
        )
        if self.split:
            ws += "split = True\ngateways = 1\n"
        (config / "ws.py").write_text(ws)
        with socket.socket() as sock:  # a free port
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        pin = _pin(SERVER_CORE) if self.workers == 1 else []
        flags = ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        started = appctl(self.app_dir, "ws:start", "-d", *flags, prefix=pin)
        self.connections()
        if started.returncode != 0:
            self.stop()
            raise RuntimeError(f"{point} did not start: {started.stderr.strip()[-300:]}")

    def connections(self) -> list[int]:
        """Open WebSockets per worker (the workers report once a second); remembers PIDs."""
        with contextlib.suppress(OSError, ValueError):
            self.pids.add(int((self.app_dir / "runtime" / "ws.pid").read_text()))
        try:
            status = appctl(self.app_dir, "ws:status", "--json")
            rows = json.loads(status.stdout)["rows"]
        except Exception:
            return []
        self.pids.update(int(row["pid"]) for row in rows if row.get("pid"))
        return [int(row.get("connections") or 0) for row in rows if row.get("pid")]

    def stop(self) -> None:
        self.connections()
        with contextlib.suppress(Exception):
            appctl(self.app_dir, "ws:stop", "--timeout", "5", timeout=30)
        for pid in sorted(self.pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def blast(
    mode: str, port: int, options: dict[str, Any], *, pin: bool = True, path: str = "/"
) -> dict[str, Any]:
    args = [*(_pin(CLIENT_CORE) if pin else []), str(build_wsblast()), mode, "--port", str(port)]
    args += ["--path", path]
    for key, value in options.items():
        args += [f"--{key}", str(value)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            return result
    raise RuntimeError(f"wsblast {mode} failed: {done.stderr.strip()[-300:]}")


def idle(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    base = server.rss_kib()
    command = [*_pin(CLIENT_CORE), str(build_wsblast()), "idle", "--port", str(server.port)]
    command += ["--conns", str(args.idle_conns), "--hold", str(args.hold)]
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready = proc.stdout.readline().split()  # READY open failed seconds
        time.sleep(1.0)  # let the server settle (handshake buffers freed)
        opened = int(ready[1]) if len(ready) > 1 else 0
        rss = server.rss_kib()
        proc.stdin.close()
        proc.wait(timeout=args.hold + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    per = (rss - base) / opened if opened else float("nan")
    return {"conns": opened, "rss_base_kib": base, "rss_kib": rss, "kib_per_conn": per}


def measure(point: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    server = Server(point)
    try:
        if mode == "echo":
            return blast(
                "echo",
                server.port,
                {"conns": args.echo_conns, "warmup": args.warmup, "duration": args.duration},
            )
        if mode == "bcast":
            return blast(
                "bcast",
                server.port,
                {"conns": args.bcast_conns, "duration": args.duration, "seq": 20, "window": 4},
            )
        return idle(server, args)
    finally:
        server.stop()


def report_split(results: dict[str, dict[str, Any]]) -> str:
    lines = ["gateway/business split (ws.split = true; appctl tree on core 0, wsblast on core 1)"]
    lines.append(f"{'echo (round-trips/s)':<22}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs w1':>8}")
    for point, r in results.items():
        one = results.get(point.replace("-split@", "-w1@")) if "-split@" in point else None
        ratio = f"{r['rps'] / one['rps']:.2f}" if one else "-"
        lines.append(f"{point:<22}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{ratio:>8}")
    return "\n".join(lines)


def measure_scale(point: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """One scale-out point through appctl; also the connections each worker held."""
    import threading

    server = AppServer(point)
    seen: list[list[int]] = []
    timer = threading.Timer(args.warmup + 1.5, lambda: seen.append(server.connections()))
    try:
        pin = server.workers == 1
        timer.start()
        if mode == "echo":
            options = {"conns": args.echo_conns, "warmup": args.warmup, "duration": args.duration}
        else:
            options = {"conns": args.bcast_conns, "duration": args.duration, "seq": 20, "window": 4}
        result = blast(mode, server.port, options, pin=pin, path=server.path)
        result["per_worker_conns"] = seen[0] if seen else []
        return result
    finally:
        timer.cancel()
        server.stop()


class RedisServer:
    """A throwaway redis-server on a free loopback port, without persistence; stopped by PID."""

    def __init__(self) -> None:
        from framework.server import bind_tcp

        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is needed: apt-get install -y redis-server")
        with contextlib.closing(bind_tcp("127.0.0.1", 0)) as probe:
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--protected-mode", "no"]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Hosts:
    """Two Swoop "hosts" sharing a Redis bus, each one process with its own listening socket
    bound to the SAME port with SO_REUSEPORT: the kernel spreads the clients over both, as a
    TCP load balancer in front of two machines would. Host A runs on core 0, host B on core 1
    (with Redis and wsblast unpinned beside them on a 2-core machine)."""

    def __init__(self, point: str) -> None:
        from framework.server import bind_tcp, make_inheritable

        self.engine = point.partition("@")[2]
        self.redis = RedisServer()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.port = 0
        try:
            for index, node in enumerate(("hosta", "hostb")):
                sock = bind_tcp("127.0.0.1", self.port, backlog=4096, reuse_port=True)
                self.port = sock.getsockname()[1]
                fd = make_inheritable(sock)
                env = {**os.environ, "BENCH_WS_BUS": self.redis.url, "BENCH_WS_NODE": node}
                env["BENCH_CORE"] = str(index % (os.cpu_count() or 1))
                command = [sys.executable, __file__, "--serve", f"swoop@{self.engine}"]
                proc = subprocess.Popen(
                    [*command, "--fd", str(fd)],
                    pass_fds=[fd],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
                self.procs.append(proc)
                sock.close()
                assert proc.stdout is not None
                ready, _, _ = select.select([proc.stdout], [], [], 60.0)
                if not ready or proc.stdout.readline().decode().strip() != "READY":
                    raise RuntimeError(f"{node} ({point}) did not start")
        except BaseException:
            self.stop()
            raise

    def connections(self) -> list[int]:
        """Open TCP sockets per host (its listener and its Redis links included)."""
        counts = []
        for proc in self.procs:
            fds = Path(f"/proc/{proc.pid}/fd")
            counts.append(sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("socket:")))
        return counts

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self.redis.stop()


def measure_hosts(point: str, args: argparse.Namespace) -> dict[str, Any]:
    """Broadcast to ``--bcast-conns`` clients spread over two hosts sharing Redis."""
    import threading

    hosts = Hosts(point)
    seen: list[list[int]] = []
    timer = threading.Timer(1.5, lambda: seen.append(hosts.connections()))
    try:
        timer.start()
        options = {"conns": args.bcast_conns, "duration": args.duration, "seq": 20, "window": 4}
        result = blast("bcast", hosts.port, options, pin=False)
        result["sockets_per_host"] = seen[0] if seen else []
        return result
    finally:
        timer.cancel()
        hosts.stop()


def report_hosts(results: dict[str, dict[str, Any]], single: dict[str, dict[str, Any]]) -> str:
    lines = ["two hosts via Redis (one port, SO_REUSEPORT; host A core 0, host B core 1)"]
    head = f"{'broadcast':<22}{'deliv/s':>10}{'fanout p50 ms':>15}{'max ms':>9}{'vs 1 host':>11}"
    lines.append(head + "  sockets per host")
    for point, r in results.items():
        one = single.get(f"swoop@{point.partition('@')[2]}")
        ratio = f"{r['deliveries_per_s'] / one['deliveries_per_s']:.2f}" if one else "-"
        lines.append(
            f"{point:<22}{r['deliveries_per_s']:>10.0f}{r['fanout_p50_ms']:>15.2f}"
            f"{r['fanout_max_ms']:>9.2f}{ratio:>11}  {r['sockets_per_host']}"
        )
    return "\n".join(lines)


def report_scale(results: dict[tuple[str, str], dict[str, Any]]) -> str:
    lines = ["scale-out (appctl ws:start --workers N)"]
    lines.append(
        f"{'echo (round-trips/s)':<22}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs w1':>8}"
        "  conns per worker"
    )
    for point in SCALE_POINTS:
        r = results.get((point, "echo"))
        if r is None:
            continue
        one = results.get((point.replace("-w2@", "-w1@"), "echo"))
        ratio = f"{r['rps'] / one['rps']:.2f}" if one else "-"
        lines.append(
            f"{point:<22}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{ratio:>8}"
            f"  {r['per_worker_conns']}"
        )
    lines.append("")
    head = f"{'broadcast':<22}{'deliv/s':>10}{'fanout p50 ms':>15}{'max ms':>9}{'vs w1':>8}"
    lines.append(head + "  conns per worker")
    for point in SCALE_POINTS:
        r = results.get((point, "bcast"))
        if r is None:
            continue
        one = results.get((point.replace("-w2@", "-w1@"), "bcast"))
        ratio = f"{r['deliveries_per_s'] / one['deliveries_per_s']:.2f}" if one else "-"
        lines.append(
            f"{point:<22}{r['deliveries_per_s']:>10.0f}{r['fanout_p50_ms']:>15.2f}"
            f"{r['fanout_max_ms']:>9.2f}{ratio:>8}  {r['per_worker_conns']}"
        )
    return "\n".join(lines)


def report(results: dict[tuple[str, str], dict[str, Any]]) -> str:
    lines = []
    echo = {p: r for (p, m), r in results.items() if m == "echo"}
    if echo:
        lines.append(
            f"{'echo (round-trips/s)':<22}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs raw':>8}"
        )
        for point, r in echo.items():
            engine = point.partition("@")[2]
            raw = echo.get(f"raw@{engine}")
            ratio = f"{r['rps'] / raw['rps']:.2f}" if raw and engine else "-"
            lines.append(
                f"{point:<22}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{ratio:>8}"
            )
    bcast = {p: r for (p, m), r in results.items() if m == "bcast"}
    if bcast:
        lines.append("")
        head = f"{'broadcast':<22}{'deliv/s':>10}{'fanout p50 ms':>15}{'max ms':>9}"
        lines.append(head + f"{'vs websockets':>15}")
        peer = bcast.get("websockets")
        for point, r in bcast.items():
            ratio = f"{r['deliveries_per_s'] / peer['deliveries_per_s']:.2f}" if peer else "-"
            lines.append(
                f"{point:<22}{r['deliveries_per_s']:>10.0f}{r['fanout_p50_ms']:>15.2f}"
                f"{r['fanout_max_ms']:>9.2f}{ratio:>15}"
            )
    idles = {p: r for (p, m), r in results.items() if m == "idle"}
    if idles:
        lines.append("")
        lines.append(f"{'idle':<22}{'conns':>7}{'KiB/conn':>10}{'RSS MiB':>9}")
        for point, r in idles.items():
            lines.append(
                f"{point:<22}{r['conns']:>7}{r['kib_per_conn']:>10.1f}{r['rss_kib'] / 1024:>9.1f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--points", default=",".join(POINTS))
    parser.add_argument("--echo-conns", type=int, default=50)
    parser.add_argument("--bcast-conns", type=int, default=1000)
    parser.add_argument("--idle-conns", type=int, default=5000)
    parser.add_argument("--hold", type=float, default=30.0)
    parser.add_argument(
        "--repeat", type=int, default=1, help="echo/bcast: rounds over the points, best of each"
    )
    parser.add_argument(
        "--scale", action="store_true", help="also the appctl points with 1 and 2 workers"
    )
    parser.add_argument("--scale-points", default=",".join(SCALE_POINTS))
    parser.add_argument(
        "--hosts", action="store_true", help="also broadcast over two hosts sharing a Redis bus"
    )
    parser.add_argument("--hosts-points", default=",".join(HOSTS_POINTS))
    parser.add_argument(
        "--split",
        action="store_true",
        help="also echo through a gateway + business worker (ws.split) vs one worker",
    )
    parser.add_argument("--split-points", default=",".join(SPLIT_POINTS))
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.fd)
        return 0
    modes, points = args.modes.split(","), [p for p in args.points.split(",") if p]
    scale_points = [p for p in args.scale_points.split(",") if p] if args.scale else []
    unknown = sorted(set(modes) - set(MODES)) + sorted(set(points) - {*POINTS, *EXTRA_POINTS})
    unknown += sorted(set(scale_points) - set(SCALE_POINTS))
    hosts_points = [p for p in args.hosts_points.split(",") if p] if args.hosts else []
    unknown += sorted(set(hosts_points) - set(HOSTS_POINTS))
    split_points = [p for p in args.split_points.split(",") if p] if args.split else []
    unknown += sorted(set(split_points) - set(SPLIT_POINTS))
    if unknown:
        parser.error(f"unknown mode/point {unknown}; modes: {MODES}, points: {POINTS}")
    if shutil.which("gcc") is None and not WSBLAST.exists():
        print("gcc is needed to build wsblast: apt-get install -y gcc", file=sys.stderr)
        return 2
    build_wsblast()
    pinning = "server on core 0, wsblast on core 1" if _pin(0) else "no pinning"
    print(f"wsblast; {pinning}; duration {args.duration}s", flush=True)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for mode in modes:
        for _ in range(args.repeat if mode in BEST_OF else 1):
            for point in points:
                try:
                    result = measure(point, mode, args)
                except Exception as exc:
                    print(f"skipped {point}/{mode}: {exc}", flush=True)
                    continue
                print(f"measured {point}/{mode}: {json.dumps(result)}", flush=True)
                best = results.get((point, mode))
                if best is None or result[BEST_OF[mode]] > best[BEST_OF[mode]]:
                    results[point, mode] = result
    scaled: dict[tuple[str, str], dict[str, Any]] = {}
    for mode in [m for m in modes if m in SCALE_MODES]:
        for point in scale_points:
            try:
                scaled[point, mode] = measure_scale(point, mode, args)
            except Exception as exc:
                print(f"skipped {point}/{mode}: {exc}", flush=True)
                continue
            print(f"measured {point}/{mode}: {json.dumps(scaled[point, mode])}", flush=True)
    split: dict[str, dict[str, Any]] = {}
    for point in split_points if "echo" in modes else []:
        for measured in (point.replace("-split@", "-w1@"), point):
            known = scaled.get((measured, "echo"))  # swoop-w1 may have run with --scale
            try:
                split[measured] = known or measure_scale(measured, "echo", args)
            except Exception as exc:
                print(f"skipped {measured}/echo: {exc}", flush=True)
                continue
            print(f"measured {measured}/echo: {json.dumps(split[measured])}", flush=True)
    hosted: dict[str, dict[str, Any]] = {}
    for point in hosts_points if "bcast" in modes else []:
        try:
            hosted[point] = measure_hosts(point, args)
        except Exception as exc:
            print(f"skipped {point}/bcast: {exc}", flush=True)
            continue
        print(f"measured {point}/bcast: {json.dumps(hosted[point])}", flush=True)
    print()
    print(report(results))
    if scaled:
        print()
        print(report_scale(scaled))
    if split:
        print()
        print(report_split(split))
    if hosted:
        print()
        print(report_hosts(hosted, {p: r for (p, m), r in results.items() if m == "bcast"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
