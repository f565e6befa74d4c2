"""Messages lost and clients reconnected during ``appctl ws:reload`` under a chat load.

    python bench/ws_reload.py [--clients 200] [--rooms 10] [--rate 10] [--duration 12]
                              [--reloads 1] [--workers 2] [--min-delay 0.5] [--engine hypercorn]
                              [--split]

Creates the chat app (``appctl create:app chat --type ws``) in a temporary directory, starts
it with ``ws:start -d --workers N`` on a free port of 127.0.0.1, and connects ``--clients``
``websockets`` clients to ``/chat``; each joins one of ``--rooms`` rooms. One sender per room
(its own connection, not counted in the clients) sends numbered ``chat.send`` messages at
``--rate`` messages/s. In the middle of the run, ``ws:reload`` runs ``--reloads`` times.

Without the gateway/business split, on a reload each old worker closes its WebSockets with
1012 and the clients reconnect (exponential backoff with jitter, as client.js does: the first
delay is 0.5-1 x ``--min-delay``) and join their room again, as the chat page does. Each
client records the numbers it received and the times of its joins and closes. The report:

- clients that had to reconnect, and the reconnections in all;
- messages sent (acknowledged by the server; a message whose sender was closed before the
  acknowledgement is "unconfirmed" and expected by nobody);
- messages lost: expected by room membership (sent while the client was in the run) but not
  received, split into "sent while the client was disconnected" (the gap a split gateway
  would close), "sent while joined, then closed" (in flight when a 1012 came: with two
  workers a client may rejoin on the old worker not yet replaced and be closed again), "sent
  after the client's final rejoin" (the goal: 0) and "to clients never closed" (also 0);
- per reload: how long ``appctl ws:reload`` took, and the time from its start until every
  client closed during it had joined again.

``--split`` runs the same load on a split server (``ws.split = true``: one gateway holding
the WebSockets, ``--workers`` business workers running the app): a reload replaces the
business workers only, so the goal is no reconnection at all and no message lost.

Everything started is stopped: ``ws:stop``, then SIGKILL by PID for the master and every
worker ever seen in ``ws:status``; the temporary directory is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
APPCTL = [sys.executable, "-m", "framework.cli"]
SETTLE = 1.5  # seconds after the last send before the clients stop listening


def appctl(app_dir: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*APPCTL, "-C", str(app_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the server ------------------------------------------------------------------------------


class ChatServer:
    """The generated chat app run by appctl; :meth:`cleanup` leaves nothing behind."""

    def __init__(self, root: Path, args: argparse.Namespace) -> None:
        created = appctl(root, "create:app", "chat", "--type", "ws")
        if created.returncode != 0:
            raise RuntimeError(f"create:app failed: {created.stderr.strip()[-500:]}")
        self.app_dir = root / "chat"
        self.port = free_port()
        self.pids: set[int] = set()
        ws_config = self.app_dir / "config" / "ws.py"
        limit = max(20.0, 2 * args.rate)  # the senders must stay under the per-connection limit
        text = ws_config.read_text().replace("rate_limit = 20.0", f"rate_limit = {limit}")
        ws_config.write_text(text.replace("rate_burst = 40.0", f"rate_burst = {2 * limit}"))
        if args.split:  # gateways hold the WebSockets; a reload replaces the business workers
            with ws_config.open("a") as config:
                config.write("split = True\ngateways = 1\n")
        server_config = self.app_dir / "config" / "server.py"
        text = server_config.read_text().replace(
            'engine = "hypercorn"', f'engine = "{args.engine}"'
        )
        server_config.write_text(text)
        self.args = args

    @property
    def pid_file(self) -> Path:
        return self.app_dir / "runtime" / "ws.pid"

    def start(self) -> None:
        flags = ["--host", "127.0.0.1", "--port", str(self.port)]
        flags += ["--workers", str(self.args.workers)]
        started = appctl(self.app_dir, "ws:start", "-d", *flags)
        self.remember_pids()
        if started.returncode != 0:
            raise RuntimeError(f"ws:start failed: {(started.stderr or started.stdout)[-500:]}")

    def remember_pids(self) -> list[dict[str, Any]]:
        with contextlib.suppress(OSError, ValueError):
            self.pids.add(int(self.pid_file.read_text()))
        rows: list[dict[str, Any]] = []
        with contextlib.suppress(Exception):
            rows = json.loads(appctl(self.app_dir, "ws:status", "--json").stdout)["rows"]
            self.pids.update(int(row["pid"]) for row in rows if row.get("pid"))
        return rows

    def reload(self) -> tuple[float, str]:
        began = time.monotonic()
        done = appctl(self.app_dir, "ws:reload")
        took = time.monotonic() - began
        self.remember_pids()
        out = (done.stdout.strip() or done.stderr.strip()).splitlines()
        return took, f"exit {done.returncode}: {out[-1] if out else ''}"

    def cleanup(self) -> None:
        self.remember_pids()
        with contextlib.suppress(Exception):
            appctl(self.app_dir, "ws:stop", "--timeout", "5", timeout=30)
        for pid in sorted(self.pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


# --- the load --------------------------------------------------------------------------------


@dataclass
class Peer:
    """One /chat connection that stays in ``room``, reconnecting and rejoining after a close."""

    name: str
    room: str
    joins: list[float] = field(default_factory=list)  # join acknowledgements (monotonic)
    closes: list[tuple[float, int | None]] = field(default_factory=list)
    received: set[int] = field(default_factory=set)
    failed_connects: int = 0


class Load:
    def __init__(self, port: int, args: argparse.Namespace) -> None:
        self.url = f"ws://127.0.0.1:{port}/chat"
        self.args = args
        self.stopping = asyncio.Event()
        self.clients = [Peer(f"user{i}", f"room{i % args.rooms}") for i in range(args.clients)]
        self.senders = [Peer(f"sender{r}", f"room{r}") for r in range(args.rooms)]
        self.sent: dict[str, dict[int, float]] = {p.room: {} for p in self.senders}
        self.acked: dict[str, set[int]] = {p.room: set() for p in self.senders}
        self.errors: list[str] = []
        self.connect_gate = asyncio.Semaphore(50)

    async def session(self, peer: Peer, on_joined: Any = None) -> None:
        """Connect, join, read until closed; again with backoff until the run stops."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        attempt = 0
        while not self.stopping.is_set():
            try:
                async with self.connect_gate:
                    ws = await connect(
                        self.url, open_timeout=10, close_timeout=2, ping_interval=None
                    )
            except Exception as exc:  # refused, rejected handshake, timeout
                peer.failed_connects += 1
                if len(self.errors) < 20:
                    self.errors.append(f"{peer.name} connect: {type(exc).__name__}: {exc}")
                await self.backoff(attempt)
                attempt += 1
                continue
            writer = None
            try:
                join = {"room": peer.room, "name": peer.name}
                await ws.send(json.dumps({"cmd": "chat.join", "data": join, "ext": {"id": "j"}}))
                async for frame in ws:
                    message = json.loads(frame)
                    ext = message.get("ext") or {}
                    if ext.get("id") == "j":
                        if "error" in message:
                            self.errors.append(f"{peer.name} join: {message['error']}")
                            break
                        peer.joins.append(time.monotonic())
                        attempt = 0
                        if on_joined is not None:
                            writer = asyncio.create_task(on_joined(ws))
                    elif "id" in ext:
                        seq = ext["id"]
                        if "error" in message:
                            self.errors.append(f"{peer.name} send {seq}: {message['error']}")
                        else:
                            self.acked[peer.room].add(seq)
                    elif message.get("cmd") == "chat.message":
                        data = message["data"]
                        if data.get("from", "").startswith("sender"):
                            peer.received.add(int(data["text"][1:]))
                if writer is not None:
                    writer.cancel()
            except ConnectionClosed:
                pass
            finally:
                if writer is not None:
                    writer.cancel()
                if not self.stopping.is_set():
                    peer.closes.append((time.monotonic(), ws.close_code))
                with contextlib.suppress(Exception):
                    await ws.close()
            if not self.stopping.is_set():
                await self.backoff(attempt)
                attempt += 1

    async def backoff(self, attempt: int) -> None:
        base = min(30.0, self.args.min_delay * 2**attempt)
        delay = base / 2 + random.random() * base / 2
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)

    def sender(self, peer: Peer, go: asyncio.Event, done: asyncio.Event) -> Any:
        """The writer of a sender connection: numbered messages at --rate while connected."""
        sent = self.sent[peer.room]
        interval = 1.0 / self.args.rate

        async def write(ws: Any) -> None:
            await go.wait()
            next_at = time.monotonic()
            while not done.is_set() and ws.state.name == "OPEN":
                seq = len(sent) + 1
                data = {"room": peer.room, "text": f"m{seq}"}
                sent[seq] = time.monotonic()
                try:
                    await ws.send(
                        json.dumps({"cmd": "chat.send", "data": data, "ext": {"id": seq}})
                    )
                except Exception:  # closed under us: the reader reconnects
                    return
                next_at = max(next_at + interval, time.monotonic() - interval)
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

        return write


async def drive(server: ChatServer, args: argparse.Namespace) -> dict[str, Any]:
    load = Load(server.port, args)
    go, done = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(load.session(peer)) for peer in load.clients]
    deadline = time.monotonic() + 60
    while sum(bool(p.joins) for p in load.clients) < args.clients:
        if time.monotonic() > deadline:
            raise RuntimeError(f"clients did not all join: {load.errors[:3]}")
        await asyncio.sleep(0.05)
    tasks += [
        asyncio.create_task(load.session(peer, load.sender(peer, go, done)))
        for peer in load.senders
    ]
    while sum(bool(p.joins) for p in load.senders) < args.rooms:
        if time.monotonic() > deadline:
            raise RuntimeError(f"senders did not all join: {load.errors[:3]}")
        await asyncio.sleep(0.05)
    started = time.monotonic()
    go.set()
    reloads: list[dict[str, Any]] = []
    gap = args.duration / (args.reloads + 1)
    for i in range(args.reloads):
        await asyncio.sleep(max(0.0, started + gap * (i + 1) - time.monotonic()))
        began = time.monotonic()
        took, outcome = await asyncio.to_thread(server.reload)
        reloads.append({"began": began, "took": took, "outcome": outcome})
    await asyncio.sleep(max(0.0, started + args.duration - time.monotonic()))
    done.set()
    ended = time.monotonic()
    await asyncio.sleep(SETTLE)
    load.stopping.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return analyse(load, reloads, started, ended)


def analyse(
    load: Load, reloads: list[dict[str, Any]], started: float, ended: float
) -> dict[str, Any]:
    lost = {"disconnected": 0, "at_close": 0, "after_rejoin": 0, "never_closed": 0}
    after_rejoin_clients: set[str] = set()
    missed: set[tuple[str, int]] = set()  # (room, number) missed by at least one client
    before_close: list[float] = []  # for "at_close": seconds from the send to the close
    expected_total = 0
    for client in load.clients:
        acked = load.acked[client.room]
        closes = [t for t, _ in client.closes]
        for seq, at in load.sent[client.room].items():
            if seq not in acked or at > ended:
                continue
            expected_total += 1
            if seq in client.received:
                continue
            missed.add((client.room, seq))
            # the membership interval the message fell in: [last join, next close)
            last_join = max((j for j in client.joins if j <= at), default=None)
            if last_join is None or any(last_join <= c <= at for c in closes):
                lost["disconnected"] += 1
            elif any(c > at for c in closes):
                before_close.append(min(c for c in closes if c > at) - at)
                lost["at_close"] += 1  # joined, but the connection closed before delivery
            elif closes:
                lost["after_rejoin"] += 1  # after the final rejoin: the goal is none
                after_rejoin_clients.add(client.name)
            else:
                lost["never_closed"] += 1
    for i, reload in enumerate(reloads):
        window_end = reloads[i + 1]["began"] if i + 1 < len(reloads) else float("inf")
        rejoined: list[float] = []
        affected = 0
        for client in load.clients:
            closed = [t for t, _ in client.closes if reload["began"] <= t < window_end]
            if closed:
                affected += 1
                later = [j for j in client.joins if j > max(closed)]
                rejoined.append(later[0] if later else float("inf"))
        reload["clients_closed"] = affected
        reload["all_rejoined_s"] = (max(rejoined) - reload["began"]) if rejoined else 0.0
    codes: dict[str, int] = {}
    for peer in load.clients:
        for _, code in peer.closes:
            codes[str(code)] = codes.get(str(code), 0) + 1
    sent = sum(len(s) for s in load.sent.values())
    acked = sum(len(a) for a in load.acked.values())
    return {
        "clients": len(load.clients),
        "rooms": len(load.senders),
        "run_s": ended - started,
        "reconnected_clients": sum(bool(p.closes) for p in load.clients),
        "reconnections": sum(len(p.closes) for p in load.clients),
        "close_codes": codes,
        "failed_connects": sum(p.failed_connects for p in load.clients + load.senders),
        "sender_reconnections": sum(len(p.closes) for p in load.senders),
        "sent": acked,
        "unconfirmed": sent - acked,
        "expected_deliveries": expected_total,
        "lost": lost,
        "lost_total": sum(lost.values()),
        "messages_missed": len(missed),
        "at_close_max_s": max(before_close, default=0.0),
        "clients_losing_after_rejoin": len(after_rejoin_clients),
        "reloads": [
            {k: v for k, v in r.items() if k != "began"} | {"at_s": r["began"] - started}
            for r in reloads
        ],
        "errors": load.errors[:5],
    }


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    lost = result["lost"]
    lines = [
        f"chat load: {result['clients']} clients in {result['rooms']} rooms, "
        f"{args.rate:g} msgs/s per room, {result['run_s']:.1f} s, {args.workers} workers "
        f"({args.engine}{', split: 1 gateway' if args.split else ''}), "
        f"{len(result['reloads'])} ws:reload",
    ]
    for i, r in enumerate(result["reloads"], 1):
        lines.append(
            f"  reload {i} at {r['at_s']:.1f} s: appctl ws:reload {r['took']:.2f} s"
            f" ({r['outcome']}); {r['clients_closed']} clients closed, all rejoined"
            f" {r['all_rejoined_s']:.2f} s after the reload began"
        )
    lines += [
        f"clients that had to reconnect     {result['reconnected_clients']:>8}"
        f" of {result['clients']}"
        f"  ({result['reconnections']} reconnections; close codes {result['close_codes']})",
        f"messages sent (acknowledged)      {result['sent']:>8}"
        f"  (unconfirmed: {result['unconfirmed']};"
        f" sender reconnections: {result['sender_reconnections']})",
        f"deliveries expected               {result['expected_deliveries']:>8}",
        f"deliveries lost                   {result['lost_total']:>8}"
        f"  ({result['messages_missed']} messages missed by at least one client)",
        f"  sent while disconnected         {lost['disconnected']:>8}",
        f"  sent while joined, then closed  {lost['at_close']:>8}  (in flight at a 1012: sent"
        f" at most {result['at_close_max_s'] * 1000:.0f} ms before it)",
        f"  sent after the final rejoin     {lost['after_rejoin']:>8}"
        f"  ({result['clients_losing_after_rejoin']} clients; goal 0)",
        f"  to clients never closed         {lost['never_closed']:>8}",
    ]
    if result["failed_connects"]:
        lines.append(f"failed connection attempts        {result['failed_connects']:>8}")
    if result["errors"]:
        lines.append(f"first errors: {result['errors']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0, help="messages/s per room")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds of sending")
    parser.add_argument("--reloads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", default="hypercorn", choices=["hypercorn", "uvicorn"])
    parser.add_argument("--min-delay", type=float, default=0.5, help="reconnect backoff, s")
    parser.add_argument("--json", action="store_true", help="also print the raw result")
    parser.add_argument(
        "--split", action="store_true", help="ws.split = true: 1 gateway + business workers"
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.rooms < 1 or args.rate <= 0 or args.reloads < 0:
        parser.error("--clients, --rooms, --rate must be positive and --reloads >= 0")
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    root = Path(tempfile.mkdtemp(prefix="swoop-ws-reload-"))
    server: ChatServer | None = None
    try:
        server = ChatServer(root, args)
        server.start()
        result = asyncio.run(asyncio.wait_for(drive(server, args), args.duration + 180))
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    print(report(result, args))
    if args.json:
        print(json.dumps(result, indent=2))
    if args.split:  # nothing may be lost and nobody may have to reconnect
        return 0 if result["lost_total"] + result["reconnections"] == 0 else 1
    return 0 if result["lost"]["after_rejoin"] + result["lost"]["never_closed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
