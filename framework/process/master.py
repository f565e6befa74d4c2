"""The master: owns the listening socket, supervises the workers, answers ``appctl``.

It binds nothing itself (the caller hands it the socket it bound, before daemonizing) and
never imports the app. Signals: SIGTERM and SIGINT stop gracefully (a second SIGINT
forces), SIGHUP and SIGUSR1 reload. See DESIGN.md §3 and docs/cli.md.

A ``ws`` server with ``ws.split`` (docs/scale-out.md) runs, in this order: the hub, the
gateways (``ws.gateways`` processes that hold the WebSockets, supervised and respawned but
never reloaded), then the workers, which are business workers linked to every gateway.
``reload`` replaces the business workers only; ``stop`` stops the gateways first (they
close the WebSockets with 1001 and the business workers run ``on_close`` for each), then
the business workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from framework.process.control import ControlServer
from framework.process.settings import ServerSettings
from framework.process.status import listen_url, status_answer
from framework.process.supervisor import WorkerProcess, spawn_gateway, spawn_worker

__all__ = ["Master"]

log = logging.getLogger("swoop.master")

#: Attempts per worker slot while the server starts; boot errors stop at the first.
START_ATTEMPTS = 3
#: A worker that served this long before dying starts its slot's backoff afresh.
HEALTHY_AFTER = 30.0
MAX_BACKOFF = 30.0
#: The first respawn of a gateway waits this long: client ids carry its boot second.
GATEWAY_BACKOFF = 1.0
#: How long a reload waits for a retired worker to say it stopped accepting (a busy worker on
#: a loaded machine took over 2 s once; until it answers, new connections may reach old code).
DRAIN_ACK_TIMEOUT = 5.0

Report = Callable[[bool, str], None]


class Master:
    """Run with ``asyncio.run(master.run())``; returns the process exit code."""

    def __init__(
        self, settings: ServerSettings, listeners: list[socket.socket], report: Report
    ) -> None:
        self.settings = settings
        #: one socket, or with server.reuse_port one per accepting slot (same port)
        self.listeners = listeners
        self.listener = listeners[0]
        self._report = report
        count = settings.workers
        self.slots: list[WorkerProcess | None] = [None] * count
        self.retired: set[WorkerProcess] = set()
        self.candidates: set[WorkerProcess] = set()
        #: A spare interpreter with the framework imported, activated by the next spawn.
        self.standby: WorkerProcess | None = None
        self._failures = [0] * count
        self._respawns: dict[int, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._serving = False
        self._stopping = False
        self._stopped = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._reload_queued = False
        self._watch_stop = asyncio.Event()
        self.started_at = time.time()
        self._control = ControlServer(settings.paths.control, self._on_request)
        self._hub: Any = None
        count = settings.gateways if settings.split else 0
        self.gateways: list[WorkerProcess | None] = [None] * count
        self._gateway_failures = [0] * count
        self._gateway_respawns: dict[int, asyncio.Task[None]] = {}

    # -- lifecycle ---------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        for sig in (signal.SIGHUP, signal.SIGUSR1):
            loop.add_signal_handler(sig, self._on_reload_signal)
        await self._control.start()
        try:
            await self._start_hub()
            error = await self._start_gateways()
            if error is None:
                error = await self._start_workers()
            if error is not None:
                self._report(False, error)
                await self._stop(0.0)
                return 1
            self._serving = True
            self._refill_standby()
            self._report(True, self._started_text())
            if self.settings.watch:
                self._start_task(self._watch())
            await self._stopped.wait()
            return 0
        finally:
            for task in self._background:
                task.cancel()
            if self._hub is not None:
                await self._hub.aclose()
            await self._control.aclose()
            for listener in self.listeners:
                listener.close()

    async def _start_hub(self) -> None:
        """Host the WebSocket hub when several ws workers must share presence and deliveries.

        The workers find it through ``SWOOP_WS__HUB`` (the config key ``ws.hub``); an app whose
        ``ws.bus`` is a Redis URL ignores it. One worker needs no hub (docs/scale-out.md).
        """
        if self.settings.kind.name != "ws":
            return
        if self.settings.workers < 2 and not self.settings.split:
            return
        from framework.bus.hub import Hub

        path = self.settings.paths.hub
        self._hub = Hub(path)
        await self._hub.__aenter__()
        os.environ["SWOOP_WS__HUB"] = str(path)

    def _started_text(self) -> str:
        s = self.settings
        pids = ", ".join(str(w.pid) for w in self.slots if w is not None)
        if s.split:
            gateways = ", ".join(str(g.pid) for g in self.gateways if g is not None)
            return (
                f"{s.kind.title} server started on {listen_url(self.listener)} "
                f"(master pid {os.getpid()}, {_count(s.gateways, 'gateway')}: {gateways}, "
                f"{_count(s.workers, 'business worker')}: {pids})"
            )
        return (
            f"{s.kind.title} server started on {listen_url(self.listener)} "
            f"(master pid {os.getpid()}, {s.workers} workers: {pids})"
        )

    # -- gateways (split ws servers) -------------------------------------------------------

    async def _start_gateways(self) -> str | None:
        """Start the gateways of a split server; business workers find their sockets in
        ``SWOOP_WS__GATEWAY_SOCKETS`` (``ws.gateway_sockets``)."""
        if not self.gateways:
            return None
        sockets = [self.settings.gateway_socket(i) for i in range(len(self.gateways))]
        os.environ["SWOOP_WS__GATEWAY_SOCKETS"] = ",".join(sockets)
        errors = await asyncio.gather(*(self._boot_gateway(i) for i in range(len(sockets))))
        return next((e for e in errors if e is not None), None)

    async def _boot_gateway(self, index: int) -> str | None:
        error: str | None = None
        for attempt in range(START_ATTEMPTS):
            if self._stopping:
                return "the server was stopped while starting"
            gateway = self._spawn_gateway(index)
            error = await self._await_ready(gateway)
            if error is None:
                return None
            if gateway.boot_error is not None:
                return error
            await asyncio.sleep(0.1 * 2**attempt)
        return error

    def _spawn_gateway(self, index: int) -> WorkerProcess:
        path = self.settings.gateway_socket(index)
        gateway = spawn_gateway(self.settings, self._listener(index), index, path)
        log.info(
            "gateway %d started (pid %d, business workers connect to %s)", index, gateway.pid, path
        )
        gateway.watcher = self._start_task(self._supervise(gateway))
        self.gateways[index] = gateway
        return gateway

    def _on_gateway_exit(self, gateway: WorkerProcess) -> None:
        index = gateway.slot
        if not self._serving or self._stopping or self.gateways[index] is not gateway:
            return
        if gateway.ready_at and time.monotonic() - gateway.ready_at > HEALTHY_AFTER:
            self._gateway_failures[index] = 0
        self._gateway_failures[index] += 1
        failures = self._gateway_failures[index]
        delay = min(GATEWAY_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)
        log.warning(
            "gateway %d (pid %d) exited with code %s; its WebSockets are gone (clients "
            "reconnect); respawning in %.1f s",
            index,
            gateway.pid,
            gateway.returncode,
            delay,
        )
        self._gateway_respawns[index] = self._start_task(self._respawn_gateway(index, delay))

    async def _respawn_gateway(self, index: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._stopping:
            return
        self._gateway_respawns.pop(index, None)
        await self._await_ready(self._spawn_gateway(index))

    async def _start_workers(self) -> str | None:
        errors = await asyncio.gather(*(self._boot_slot(i) for i in range(len(self.slots))))
        return next((e for e in errors if e is not None), None)

    async def _boot_slot(self, slot: int) -> str | None:
        error: str | None = None
        for attempt in range(START_ATTEMPTS):
            if self._stopping:
                return "the server was stopped while starting"
            worker = self._spawn(slot)
            self.slots[slot] = worker
            error = await self._await_ready(worker)
            if error is None:
                return None
            if worker.boot_error is not None:
                return error  # deterministic: booting again fails the same way
            await asyncio.sleep(0.1 * 2**attempt)
        return error

    def _spawn(self, slot: int) -> WorkerProcess:
        standby, self.standby = self.standby, None
        if standby is not None and not standby.exited.is_set():
            standby.activate(slot)
            log.info("worker %d activated from standby (slot %d)", standby.pid, slot)
            self._refill_standby()
            return standby
        worker = spawn_worker(self.settings, self._listener(slot), slot)
        log.info("worker %d started (slot %d)", worker.pid, slot)
        worker.watcher = self._start_task(self._supervise(worker))
        self._refill_standby()
        return worker

    def _refill_standby(self) -> None:
        if not self.settings.standby or not self._serving or self._stopping:
            return
        if self.standby is None or self.standby.exited.is_set():
            self.standby = spawn_worker(
                self.settings, self.listener, -1, standby=True, all_listeners=self.listeners
            )
            self.standby.watcher = self._start_task(self._supervise(self.standby))

    def _listener(self, slot: int) -> socket.socket:
        """The socket the process of ``slot`` accepts on (its own with server.reuse_port)."""
        return self.listeners[slot % len(self.listeners)]

    async def _supervise(self, worker: WorkerProcess) -> None:
        await worker.follow()
        self._on_exit(worker)

    async def _await_ready(self, worker: WorkerProcess) -> str | None:
        """``None`` once ``worker`` is READY; else why not (it is then gone)."""
        paths = self.settings.paths
        log_hint = f"{paths.display(paths.app_log)} (daemon) or the output above"
        return await worker.wait_ready(self.settings.boot_timeout, log_hint)

    def _on_exit(self, worker: WorkerProcess) -> None:
        if worker.role == "gateway":
            self._on_gateway_exit(worker)
            return
        if worker is self.standby:
            self.standby = None  # the next spawn starts cold and makes a new one
            if not self._stopping:
                log.warning("standby worker %d exited (code %s)", worker.pid, worker.returncode)
            return
        if worker in self.retired:
            self.retired.discard(worker)
            log.info("worker %d drained and exited (code %s)", worker.pid, worker.returncode)
            return
        self.candidates.discard(worker)
        slot = worker.slot
        if not self._serving or self._stopping or self.slots[slot] is not worker:
            return
        if worker.ready_at and time.monotonic() - worker.ready_at > HEALTHY_AFTER:
            self._failures[slot] = 0
        self._failures[slot] += 1
        failures = self._failures[slot]
        delay = 0.0 if failures == 1 else min(0.5 * 2 ** (failures - 2), MAX_BACKOFF)
        if worker.boot_error:
            log.error("worker %d failed to boot:\n%s", worker.pid, worker.boot_error)
        log.warning(
            "worker %d (slot %d) exited with code %s; respawning in %.1f s",
            worker.pid,
            slot,
            worker.returncode,
            delay,
        )
        self._respawns[slot] = self._start_task(self._respawn(slot, delay))

    async def _respawn(self, slot: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._stopping:
            return
        self._respawns.pop(slot, None)
        worker = self._spawn(slot)
        self.slots[slot] = worker
        # A worker that hangs while booting is killed; its exit schedules the next attempt.
        await self._await_ready(worker)

    # -- reload ------------------------------------------------------------------------

    async def reload(self) -> tuple[bool, str]:
        """Replace every worker, one at a time; stop at the first replacement that fails."""
        if self._stopping or not self._serving:
            return False, "the server is not serving (starting or stopping); try again"
        async with self._reload_lock:
            self._reload_queued = False
            began = time.monotonic()
            count = len(self.slots)
            for slot in range(count):
                if self.stopping:
                    return False, "the server began to stop during the reload"
                new = self._spawn(slot)
                self.candidates.add(new)
                error = await self._await_ready(new)
                self.candidates.discard(new)
                if error is not None:
                    return False, _reload_failure(error, slot, count)
                task = self._respawns.pop(slot, None)
                if task is not None:
                    task.cancel()
                old, self.slots[slot] = self.slots[slot], new
                self._failures[slot] = 0
                if old is not None and not old.exited.is_set():
                    self._retire(old)
                    # once reload returns, every new connection must reach new code
                    await old.wait_stopped_accepting(DRAIN_ACK_TIMEOUT)
            took = time.monotonic() - began
            return True, f"reloaded {count} workers in {took:.2f} s"

    def _retire(self, worker: WorkerProcess) -> None:
        self.retired.add(worker)
        worker.drain(kill_after=2 * self._worker_grace(), patient=True)

    def _worker_grace(self) -> float:
        return self.settings.graceful_timeout + 5.0

    # -- stop --------------------------------------------------------------------------

    def request_stop(self, timeout: float | None = None) -> None:
        """Begin a graceful stop (workers get ``timeout`` seconds, default the config's)."""
        if not self._stopping:
            grace = self._worker_grace() if timeout is None else timeout
            self._start_task(self._stop(grace))

    @property
    def stopping(self) -> bool:
        """A stop began (re-read after every ``await``: it changes while we wait)."""
        return self._stopping

    async def _stop(self, grace: float) -> None:
        self._stopping = True
        self._watch_stop.set()
        for task in (*self._respawns.values(), *self._gateway_respawns.values()):
            task.cancel()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        gateways = [g for g in self.gateways if g is not None and not g.exited.is_set()]
        if gateways:
            # first: they close the WebSockets while the business workers can run on_close
            log.info("stopping: %d gateways close their WebSockets", len(gateways))
            await self._stop_processes(gateways, grace, "gateway")
        workers = [w for w in self._all_workers() if not w.exited.is_set()]
        log.info("stopping: draining %d workers (timeout %.1f s)", len(workers), grace)
        remaining = max(deadline - loop.time(), 1.0) if gateways else grace
        await self._stop_processes(workers, remaining, "worker")
        log.info("stopped")
        self._stopped.set()

    async def _stop_processes(self, workers: list[WorkerProcess], grace: float, what: str) -> None:
        for worker in workers:
            worker.drain(kill_after=None)
        if workers:
            waits = [asyncio.ensure_future(w.exited.wait()) for w in workers]
            _, pending = await asyncio.wait(waits, timeout=max(grace, 0.01))
            for waiting in pending:
                waiting.cancel()
        for worker in workers:
            if not worker.exited.is_set():
                log.warning("%s %d did not stop in %.1f s; killing it", what, worker.pid, grace)
                worker.kill()
        for worker in workers:
            await worker.exited.wait()

    def _all_workers(self) -> list[WorkerProcess]:
        current = [w for w in self.slots if w is not None]
        spare = [self.standby] if self.standby is not None else []
        return [*current, *self.candidates, *self.retired, *spare]

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if self._stopping and sig == signal.SIGINT:
            log.warning("second interrupt: killing the workers now")
            for worker in [*self._all_workers(), *(g for g in self.gateways if g is not None)]:
                worker.kill()
            return
        log.info("received %s", sig.name)
        self.request_stop()

    def _on_reload_signal(self) -> None:
        log.info("received a reload signal")
        self._start_task(self._logged_reload([]))

    async def _logged_reload(self, changed: list[str]) -> None:
        if changed:
            log.info("changed: %s; reloading", ", ".join(changed))
        if self._reload_lock.locked():
            if self._reload_queued:
                return  # the queued reload will load these changes too
            self._reload_queued = True
        ok, text = await self.reload()
        (log.info if ok else log.error)("%s", text)

    async def _watch(self) -> None:
        from framework.process.watch import watch

        await watch(self.settings.app_dir, self._logged_reload, self._watch_stop)

    # -- control -----------------------------------------------------------------------

    async def _on_request(self, message: dict[str, Any]) -> dict[str, Any]:
        command = message.get("cmd")
        if command == "status":
            return self.status()
        if command == "reload":
            ok, text = await self.reload()
            return {"ok": ok, "message": text} if ok else {"ok": False, "error": text}
        if command == "stop":
            timeout = message.get("timeout")
            self.request_stop(float(timeout) if isinstance(timeout, (int, float)) else None)
            return {"ok": True, "pid": os.getpid()}
        return {"ok": False, "error": f"unknown control command {command!r}"}

    def status(self) -> dict[str, Any]:
        """The ``status`` answer: a header about the server and one row per worker."""
        workers = [w for w in self._all_workers() if w is not self.standby]
        state = "stopping" if self._stopping else "running" if self._serving else "starting"
        gateways = [g for g in self.gateways if g is not None]
        return status_answer(
            self.settings, self.listener, self.started_at, state, workers, self.standby, gateways
        )

    def _start_task(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("master task failed", exc_info=task.exception())


def _reload_failure(error: str, slot: int, count: int) -> str:
    head, *details = error.splitlines()
    kept = (
        "the old workers keep serving"
        if slot == 0
        else (f"{slot} of {count} workers run the new code, the others the old one")
    )
    return "\n".join([f"reload failed: {head} ({kept})", *details])


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
