"""One worker process as the master sees it: spawn it, follow its channel, drain or kill it.

The gateways of a split ``ws`` server (:mod:`framework.process.gateway`) speak the same
protocol to the master, so they are followed as :class:`WorkerProcess` objects too
(``role = "gateway"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from framework.errors import describe
from framework.process import procfs, protocol
from framework.process.settings import ServerSettings
from framework.process.worker import WorkerSpec

__all__ = ["WorkerProcess", "spawn_gateway", "spawn_worker"]

log = logging.getLogger("swoop.master")


def spawn_worker(
    settings: ServerSettings,
    listener: socket.socket,
    slot: int,
    *,
    standby: bool = False,
    all_listeners: Sequence[socket.socket] = (),
) -> WorkerProcess:
    """Start ``python -m framework.process.worker`` inheriting ``listener`` and a channel.

    A ``standby`` worker imports the framework and waits for :meth:`WorkerProcess.activate`;
    given ``all_listeners`` (one per slot, ``server.reuse_port``) it inherits them all and
    keeps its slot's.

    Raises:
        OSError: the interpreter could not be started.
    """
    spec = WorkerSpec(
        kind=settings.kind.name,
        app_dir=str(settings.app_dir),
        listen_fd=listener.fileno(),
        channel_fd=-1,  # filled in by _start
        slot=slot,
        access_log=_access_log(settings),
        standby=standby,
        engine=settings.engine,
        listen_fds=tuple(s.fileno() for s in all_listeners) if len(all_listeners) > 1 else (),
    )
    inherited = list(all_listeners) if spec.listen_fds else [listener]
    worker = _start(settings, inherited, slot, "framework.process.worker", spec)
    if standby:
        worker.state = "standby"
    return worker


def spawn_gateway(
    settings: ServerSettings, listener: socket.socket, index: int, path: str
) -> WorkerProcess:
    """Start gateway ``index`` of a split ws server (``python -m framework.process.gateway``),
    listening for business workers on ``path``.

    Raises:
        OSError: the interpreter could not be started.
    """
    from framework.process.gateway import GatewaySpec

    spec = GatewaySpec(
        app_dir=str(settings.app_dir),
        listen_fd=listener.fileno(),
        channel_fd=-1,  # filled in by _start
        index=index,
        socket=path,
        access_log=_access_log(settings),
    )
    worker = _start(settings, [listener], index, "framework.process.gateway", spec)
    worker.role = "gateway"
    return worker


def _access_log(settings: ServerSettings) -> str | None:
    if not settings.access_log:
        return None
    return str(settings.paths.access_log) if settings.daemonize else "-"


def _start(
    settings: ServerSettings,
    listeners: Sequence[socket.socket],
    slot: int,
    module: str,
    spec: Any,
) -> WorkerProcess:
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    spec = dataclasses.replace(spec, channel_fd=child.fileno())
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, spec.to_json()],
            pass_fds=(*(s.fileno() for s in listeners), child.fileno()),
            cwd=settings.app_dir,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    except BaseException:
        parent.close()
        raise
    finally:
        child.close()
    parent.setblocking(False)
    return WorkerProcess(slot, proc, parent)


class WorkerProcess:
    """A worker (or a gateway) and what it reported. States: starting, ready, draining,
    exited."""

    def __init__(self, slot: int, proc: subprocess.Popen[bytes], channel: socket.socket) -> None:
        self.slot = slot
        self.proc = proc
        self.pid = proc.pid
        self.channel = channel
        self.state = "starting"
        self.started = time.time()
        self.ready = asyncio.Event()
        self.exited = asyncio.Event()
        #: Set when a draining worker reports it no longer accepts connections.
        self.stopped_accepting = asyncio.Event()
        self.ready_at: float | None = None
        self.boot_error: str | None = None
        self.returncode: int | None = None
        self.requests = 0
        self.bus: dict[str, Any] | None = None  # a ws worker's gateway counters
        self.gateway: dict[str, Any] | None = None  # a split server's gateway counters
        self.role = "worker"  # or "gateway"
        self.qps = 0.0
        self.watcher: asyncio.Task[Any] | None = None
        self._sample: tuple[float, int] | None = None
        self._kill_timer: asyncio.TimerHandle | None = None

    def activate(self, slot: int) -> None:
        """Hand a standby worker its slot: it boots the app now."""
        self.slot = slot
        self.state = "starting"
        self.started = time.time()
        data = protocol.encode({"type": "boot", "slot": slot})
        try:
            # a few bytes into an empty socket buffer: never a partial write
            self.channel.send(data)
        except OSError:
            self.kill()  # the standby died meanwhile; its exit ends the wait for READY

    async def follow(self) -> None:
        """Handle the worker's messages until its channel closes, then reap it."""
        reader, writer = await asyncio.open_unix_connection(
            sock=self.channel, limit=protocol.MAX_LINE
        )
        reading = asyncio.ensure_future(self._read(reader))
        try:
            while not reading.done():
                await asyncio.wait({reading}, timeout=0.5)
                if not reading.done() and self.proc.poll() is not None:
                    # exited, but a child of the app may still hold the channel open
                    await asyncio.wait({reading}, timeout=0.5)
                    break
        finally:
            reading.cancel()
            writer.close()
        delay = 0.005
        while self.proc.poll() is None:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
        self.returncode = self.proc.returncode
        self.state = "exited"
        if self._kill_timer is not None:
            self._kill_timer.cancel()
        self.stopped_accepting.set()
        self.exited.set()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            try:
                message = protocol.decode(line.rstrip(b"\n"))
            except protocol.ProtocolError as exc:
                log.warning("worker %d sent garbage: %s", self.pid, exc)
                continue
            self._handle(message)

    def _handle(self, message: protocol.Message) -> None:
        kind = message.get("type")
        if kind == "ready":
            if self.state == "starting":
                self.state = "ready"
            self.ready_at = time.monotonic()
            self.ready.set()
        elif kind == "stats":
            now = time.monotonic()
            requests = int(message.get("requests", 0))
            if self._sample is not None and now > self._sample[0]:
                self.qps = (requests - self._sample[1]) / (now - self._sample[0])
            self._sample = (now, requests)
            self.requests = requests
            bus, gateway = message.get("bus"), message.get("gateway")
            self.bus = bus if isinstance(bus, dict) else None
            self.gateway = gateway if isinstance(gateway, dict) else None
        elif kind == "draining":
            self.stopped_accepting.set()
        elif kind == "error":
            self.boot_error = str(message.get("message", "the worker failed to boot"))

    async def wait_ready(self, boot_timeout: float, log_hint: str) -> str | None:
        """``None`` once READY; else why not: the boot error, a timeout (then the worker
        is killed), or its exit code. Returns once the worker is READY or gone."""
        ready = asyncio.ensure_future(self.ready.wait())
        exited = asyncio.ensure_future(self.exited.wait())
        try:
            await asyncio.wait(
                {ready, exited}, timeout=boot_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ready.cancel()
            exited.cancel()
        if self.ready.is_set() and not self.exited.is_set():
            return None
        if not self.exited.is_set():
            self.kill()
            await self.exited.wait()
            return describe(
                [
                    f"worker {self.pid} did not report READY within {boot_timeout:g} s",
                    "fix: look for a startup hook that blocks, or raise server.boot_timeout",
                ]
            )
        if self.boot_error is not None:
            return self.boot_error
        return describe(
            [
                f"worker {self.pid} exited with code {self.returncode} before it was ready",
                f"see: {log_hint}",
            ]
        )

    async def wait_stopped_accepting(self, seconds: float) -> None:
        """Wait until a draining worker stopped accepting (or exited), at most ``seconds``."""
        try:
            async with asyncio.timeout(seconds):
                await self.stopped_accepting.wait()
        except TimeoutError:
            log.warning("worker %d did not confirm its drain within %.1f s", self.pid, seconds)

    def drain(self, *, kill_after: float | None, patient: bool = False) -> None:
        """Ask the worker to finish its requests and exit; kill it if it is late.

        ``patient`` (a reload: other workers serve) waits for its connections to close;
        otherwise (a stop) it is SIGTERM, as from ``kill`` or ``docker stop``.
        """
        if self.exited.is_set():
            return
        self.state = "draining"
        sent = False
        if patient and self.ready.is_set():
            with contextlib.suppress(OSError):
                sent = self.channel.send(protocol.encode({"type": "drain", "patient": True})) > 0
        if not sent:
            self._signal(signal.SIGTERM)
        if kill_after is not None:
            self._kill_timer = asyncio.get_running_loop().call_later(kill_after, self.kill)

    def kill(self) -> None:
        if not self.exited.is_set():
            self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def row(self, connections: dict[int, int] | None) -> dict[str, Any]:
        """This worker's line of the status table."""
        return {
            "slot": self.slot,
            "pid": self.pid,
            "state": self.state,
            "rss": procfs.rss_bytes(self.pid),
            "connections": None if connections is None else connections.get(self.pid, 0),
            "requests": self.requests,
            "qps": round(self.qps, 1),
            "started": self.started,
            "bus": self.bus,
            "role": self.role,
            "gateway": self.gateway,
        }
