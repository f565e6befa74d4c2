"""A worker: ``python -m framework.process.worker SPEC``, started by the master.

A fresh interpreter, so every worker (and every reload) imports the app's current code. It
boots the app, runs its startup hooks, serves on the listening socket it inherited and
reports to the master over an inherited socketpair (see :mod:`framework.process.protocol`):
READY once it accepts, stats every second, or its boot error before it exits.

Draining (a ``drain`` message, SIGTERM, or the master gone): stop accepting, answer what
still arrives on open connections with ``Connection: close``, wait for a quiet moment,
then let the engine finish in-flight requests within ``server.graceful_timeout``.
SIGINT is ignored: on Ctrl+C the master coordinates the stop.

A business worker of a split ``ws`` server (``ws.gateway_sockets`` set by the master) runs
no engine: it links to the gateways (:mod:`framework.websocket.split.business`), reports
READY once they are linked, and drains by asking the gateways for nothing new and waiting
until what they had sent is done; the WebSockets stay open in the gateways.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.errors import FrameworkError
from framework.process import procfs, protocol
from framework.process.childlog import configure_child_logging
from framework.process.kinds import kind_named
from framework.process.standby import stand_by

if TYPE_CHECKING:
    from framework.application import Application
    from framework.process.meter import Meter
    from framework.server import Engine, EngineOptions
    from framework.websocket.split.business import BusinessNode

__all__ = ["WorkerSpec", "main"]

log = logging.getLogger("swoop.worker")

#: A draining worker lets the engine stop once no request started or ended for this long.
QUIET = 0.25
STATS_INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What the master tells a worker on its command line (as JSON)."""

    kind: str
    app_dir: str
    listen_fd: int
    channel_fd: int
    slot: int
    access_log: str | None  # a file, "-" for stdout, or None for no access log
    standby: bool = False  # import the framework, then wait for {"type": "boot", "slot": n}
    engine: str = "hypercorn"  # the engine a standby imports in advance
    #: a standby with server.reuse_port inherits every slot's socket and keeps its slot's
    listen_fds: tuple[int, ...] = ()

    def to_json(self) -> str:
        return json.dumps({f: getattr(self, f) for f in self.__dataclass_fields__})

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        data = json.loads(text)
        return cls(**{**data, "listen_fds": tuple(data.get("listen_fds", ()))})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = WorkerSpec.from_json(args[0])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = socket.socket(fileno=spec.channel_fd)
    if spec.standby:
        slot = stand_by(spec.engine, channel)
        if slot is None:
            return 0  # the master stopped, or never needed us
        spec = dataclasses.replace(spec, slot=slot, standby=False)
        if spec.listen_fds:
            spec = _keep_slot_socket(spec)
    configure_child_logging(f"{spec.kind} worker {spec.slot}", spec.access_log)
    try:
        app, engine, options, meter = _boot(spec)
    except BaseException as exc:
        from framework.process.boot import describe_failure

        _log_failure("boot", exc)
        _send_blocking(channel, {"type": "error", "message": describe_failure(exc, _dir(spec))})
        return 1
    import anyio

    from framework.server import adopt_socket

    listener = adopt_socket(spec.listen_fd)
    worker = _Worker(app, engine, options, meter, listener, channel, _dir(spec))
    backend = {"use_uvloop": engine.use_uvloop}
    anyio.run(worker.run, backend="asyncio", backend_options=backend)
    return worker.exit_code


def _keep_slot_socket(spec: WorkerSpec) -> WorkerSpec:
    """Of the sockets a standby inherited (one per slot), keep the slot's, close the rest."""
    fds = spec.listen_fds
    mine = fds[spec.slot % len(fds)]
    for fd in fds:
        if fd != mine:
            os.close(fd)
    return dataclasses.replace(spec, listen_fd=mine, listen_fds=())


def _dir(spec: WorkerSpec) -> Path:
    return Path(spec.app_dir)


def _boot(spec: WorkerSpec) -> tuple[Application, Engine, EngineOptions, Meter]:
    from framework.process.boot import boot_app, engine_for, engine_options
    from framework.process.meter import Meter

    kind = kind_named(spec.kind)
    # client ids name the worker that holds a WebSocket (framework/websocket/clientid.py)
    os.environ.setdefault("SWOOP_WORKER_ID", str(spec.slot))
    app = boot_app(_dir(spec), kind, cache_bytecode=False)
    engine = engine_for(app.config, kind.name)
    options = engine_options(app.config, kind.name, access_log=spec.access_log is not None)
    return app, engine, options, Meter(_asgi(app, kind.name))


def _asgi(app: Application, kind: str) -> Any:
    """The app's ASGI callable: a ``ws`` server serves its HTTP routes on the same port."""
    if kind == "ws":
        from framework.websocket import ws_asgi_app

        return ws_asgi_app(app)
    from framework.http import asgi_app

    return asgi_app(app)


class _Worker:
    def __init__(
        self,
        app: Application,
        engine: Engine,
        options: EngineOptions,
        meter: Meter,
        listener: socket.socket,
        channel: socket.socket,
        app_dir: Path,
    ) -> None:
        self.app_dir = app_dir
        self.app, self.engine, self.options, self.meter = app, engine, options, meter
        self.listener, self.channel = listener, channel
        self.exit_code = 0
        self._drain = asyncio.Event()
        self._patient = False  # drain until connections close (reload) or until quiet (stop)
        self._stop_engine = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writer: asyncio.StreamWriter | None = None
        self.business = _business_node(app)

    async def run(self) -> None:
        from framework.events.lifecycle import SERVER_STOP, WORKER_START, WORKER_STOP

        reader, self._writer = await asyncio.open_unix_connection(sock=self.channel)
        try:
            await self.app.startup()
            await self.app.events.aemit(WORKER_START, self.app)
        except Exception as exc:
            await self._fail(exc)
            return
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._on_sigterm)
        self._spawn(self._listen(reader))
        self._spawn(self._drainer())
        try:
            if self.business is not None:
                await self._serve_business(self.business)
            else:
                await self.engine.serve(
                    self.meter,
                    [self.listener],
                    shutdown_trigger=self._stop_engine.wait,
                    options=self.options,
                    ready=lambda: self._spawn(self._ready()),
                )
        except Exception:
            log.exception("the engine failed")
            self.exit_code = 1
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for event in (SERVER_STOP, WORKER_STOP):
                await self._quietly(self.app.events.aemit(event, self.app), event)
            await self._quietly(self.app.shutdown(), "shutdown")
            self._writer.close()

    async def _serve_business(self, node: BusinessNode) -> None:
        """Serve the gateways of a split server until drained (instead of an engine)."""
        from framework.websocket import ws_asgi_app

        self.listener.close()  # the gateways accept the connections, not us
        node.start(ws_asgi_app(self.app))
        linked = asyncio.ensure_future(node.wait_linked())
        stopped = asyncio.ensure_future(self._stop_engine.wait())
        await asyncio.wait({linked, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if linked.done():  # else a stop came before any gateway could be reached
            self._spawn(self._ready())
        linked.cancel()
        await stopped

    async def _quietly(self, step: Any, name: str) -> None:
        # one failing hook must not keep the others (or the exit) from running
        try:
            await step
        except Exception:
            log.exception("%s failed", name)
            self.exit_code = 1

    def _on_sigterm(self) -> None:
        self._patient = False  # a stop, also of a worker already draining after a reload
        self._drain.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fail(self, exc: BaseException) -> None:
        from framework.process.boot import describe_failure

        _log_failure("start", exc)
        self.exit_code = 1
        with contextlib.suppress(Exception):
            await self.app.shutdown()
        await self._send({"type": "error", "message": describe_failure(exc, self.app_dir)})

    async def _ready(self) -> None:
        from framework.events.lifecycle import SERVER_START
        from framework.process.boot import describe_failure

        try:
            await self.app.events.aemit(SERVER_START, self.app)
        except Exception as exc:
            _log_failure("start", exc)
            self.exit_code = 1
            await self._send({"type": "error", "message": describe_failure(exc, self.app_dir)})
            self._stop_engine.set()
            return
        await self._send({"type": "ready"})
        while True:
            await asyncio.sleep(STATS_INTERVAL)
            node = self.business
            stats: dict[str, Any] = {
                "requests": self.meter.requests if node is None else node.events,
                "inflight": self.meter.inflight if node is None else node.inflight,
            }
            bus = self._bus_stats()
            if bus is not None:
                stats["bus"] = bus
            await self._send({"type": "stats", **stats})

    def _bus_stats(self) -> dict[str, Any] | None:
        """A ws worker's gateway counters (uids, groups, bus in/out, drops, reconnects)."""
        for extension in self.app.extensions:
            gateway = getattr(extension, "gateway", None)
            stats = getattr(getattr(gateway, "bus", None), "stats", None)
            if callable(stats):
                return dict(stats())
        return None

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        # A drain message, or end of file: the master is gone, so nobody supervises us.
        while line := await reader.readline():
            with contextlib.suppress(protocol.ProtocolError):
                message = protocol.decode(line.rstrip(b"\n"))
                if message.get("type") == "drain":
                    self._patient = bool(message.get("patient"))
                    break
        self._drain.set()

    async def _drainer(self) -> None:
        await self._drain.wait()
        if self.business is not None:
            stopped = lambda: self._send({"type": "draining"})  # noqa: E731
            await self.business.drain(self.options.graceful_timeout, stopped)
            self._stop_engine.set()
            return
        self.meter.draining = True
        loop = asyncio.get_running_loop()
        # New connections go to the other workers from now on; the socket stays open (the
        # master and the other workers share it), only this loop stops watching it.
        with contextlib.suppress(ValueError, RuntimeError, OSError):
            loop.remove_reader(self.listener.fileno())
        await self._send({"type": "draining"})
        await self._close_websockets()
        deadline = loop.time() + self.options.graceful_timeout
        # Polls counters the meter updates on every request; an event per request would
        # cost more on the hot path than this loop costs while draining.
        while not self._drained() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        self._stop_engine.set()

    async def _close_websockets(self) -> None:
        """Close this worker's WebSockets ourselves: the engine would cut them with its own
        code. 1012 on a reload tells clients to reconnect at once (to the new workers);
        1001 on a stop says the server is going away."""
        from framework.websocket import WebSocketExtension

        try:
            extension = self.app.extension(WebSocketExtension)
        except FrameworkError:
            return  # not a ws server
        code, reason = (1012, "server reloading") if self._patient else (1001, "server stopping")
        await self._quietly(extension.close_all(code, reason), "closing websockets")

    def _drained(self) -> bool:
        """Whether the engine may stop now without a client noticing.

        When other workers take over (a reload), wait until every connection is closed:
        busy ones close after their next response (``Connection: close``), idle keep-alive
        ones when the engine's keep-alive timeout ends them, as in normal operation.
        Closing an idle connection ourselves could race with a request its client is
        sending. When the whole server stops, a quiet moment is enough.
        """
        if self.meter.inflight or self.meter.quiet_for() < QUIET:
            return False
        if not self._patient:
            return True
        port = self.listener.getsockname()[1] if self.listener.fileno() >= 0 else 0
        counts = procfs.connection_counts([os.getpid()], port) if port else None
        return counts is None or counts.get(os.getpid(), 0) == 0

    async def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None or self._writer.is_closing():
            return
        with contextlib.suppress(OSError):
            self._writer.write(protocol.encode(message))
            await self._writer.drain()


def _business_node(app: Application) -> BusinessNode | None:
    """The links to the gateways when this is a business worker of a split ws server."""
    module = sys.modules.get("framework.websocket.extension")
    if module is None:
        return None  # not a ws server (and no need to import the websocket package)
    try:
        node: BusinessNode | None = app.extension(module.WebSocketExtension).business
    except FrameworkError:
        return None
    return node


def _log_failure(step: str, exc: BaseException) -> None:
    from framework.errors import FrameworkError

    if isinstance(exc, FrameworkError):  # our messages say what, where and how to fix
        log.error("worker failed to %s: %s", step, str(exc).splitlines()[0])
    else:
        log.error("worker failed to %s", step, exc_info=exc)


def _send_blocking(channel: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        channel.sendall(protocol.encode(message))


if __name__ == "__main__":
    sys.exit(main())
