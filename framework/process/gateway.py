"""A gateway of a split ``ws`` server: ``python -m framework.process.gateway SPEC``.

The master starts one per ``ws.gateways`` when ``ws.split`` is on, before the business
workers, and never reloads it (it is restarted only when it dies, or by stop/restart). It
imports the framework and reads the config, never the application's code: it serves
:class:`~framework.websocket.split.gateway.GatewayApp` with the engine on the inherited
listening socket, listens for business workers on its Unix socket
(``runtime/ws-gw-<n>.sock``), is a node of the master's hub (``SWOOP_WS__HUB``) so Gateway
API calls from anywhere reach its connections, and reports to the master as a worker does
(READY, stats every second, draining, its error if it cannot start).

What it reads (``ws.*`` protection settings, ``server.engine`` and the engine options,
``http.max_body_size``) is read once: changing it takes ``appctl ws:restart``.

Stop (SIGTERM, a drain message, or the master gone): stop accepting; close every WebSocket
with 1001 (the business workers run ``on_close`` for each); let in-flight HTTP requests
finish within ``server.graceful_timeout``; exit.
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

from framework.process import protocol
from framework.process.childlog import configure_child_logging

if TYPE_CHECKING:
    from framework.process.meter import Meter
    from framework.server import Engine, EngineOptions
    from framework.websocket.settings import WsSettings
    from framework.websocket.split.gateway import GatewayApp

__all__ = ["GatewaySpec", "main"]

log = logging.getLogger("swoop.gateway")

QUIET = 0.25
STATS_INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class GatewaySpec:
    """What the master tells a gateway on its command line (as JSON)."""

    app_dir: str
    listen_fd: int
    channel_fd: int
    index: int
    socket: str  # where business workers connect
    access_log: str | None  # a file, "-" for stdout, or None

    def to_json(self) -> str:
        return json.dumps({f: getattr(self, f) for f in self.__dataclass_fields__})

    @classmethod
    def from_json(cls, text: str) -> GatewaySpec:
        return cls(**json.loads(text))


@dataclass(frozen=True, slots=True)
class _Setup:
    settings: WsSettings
    engine: Engine
    options: EngineOptions
    max_body_size: int


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = GatewaySpec.from_json(args[0])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = socket.socket(fileno=spec.channel_fd)
    configure_child_logging(f"ws gateway {spec.index}", spec.access_log)
    try:
        setup = _setup(spec)
    except BaseException as exc:
        return _failed(channel, exc, spec)
    import anyio

    from framework.server import adopt_socket

    gateway = _Gateway(spec, setup, adopt_socket(spec.listen_fd), channel)
    anyio.run(
        gateway.run, backend="asyncio", backend_options={"use_uvloop": setup.engine.use_uvloop}
    )
    return gateway.exit_code


def _setup(spec: GatewaySpec) -> _Setup:
    from framework.config import load_config
    from framework.http.request import DEFAULT_MAX_BODY_SIZE
    from framework.process.boot import engine_for, engine_options
    from framework.websocket.settings import WsSettings

    config = load_config(Path(spec.app_dir))
    # the gateway's number names it in client ids, whatever ws.worker says
    settings = dataclasses.replace(WsSettings.from_config(config), worker=spec.index)
    engine = engine_for(config, "ws")
    options = engine_options(config, "ws", access_log=spec.access_log is not None)
    max_body = config.get("http.max_body_size", DEFAULT_MAX_BODY_SIZE, type=int)
    return _Setup(settings, engine, options, max_body)


def _failed(channel: socket.socket, exc: BaseException, spec: GatewaySpec) -> int:
    from framework.process.boot import describe_failure

    log.error("gateway %d failed to start", spec.index, exc_info=exc)
    with contextlib.suppress(OSError):
        message = describe_failure(exc, Path(spec.app_dir))
        channel.sendall(protocol.encode({"type": "error", "message": message}))
    return 1


class _Gateway:
    def __init__(
        self, spec: GatewaySpec, setup: _Setup, listener: socket.socket, channel: socket.socket
    ) -> None:
        self.spec, self.setup = spec, setup
        self.listener, self.channel = listener, channel
        self.exit_code = 0
        self.app: GatewayApp | None = None
        self.meter: Meter | None = None
        self._drain = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        from framework.bus.factory import build_bus
        from framework.process.meter import Meter
        from framework.websocket.clientid import ClientIdFactory
        from framework.websocket.gateway import Gateway
        from framework.websocket.split.gateway import GatewayApp

        reader, self._writer = await asyncio.open_unix_connection(sock=self.channel)
        settings = self.setup.settings
        try:
            ids = ClientIdFactory(settings.node, settings.worker)
            registry, bus = build_bus(settings, ids)
        except Exception as exc:
            await self._fail(exc)
            return
        gateway = Gateway(ids, registry, bus)
        self.app = app = GatewayApp(
            gateway,
            settings,
            socket_path=self.spec.socket,
            index=self.spec.index,
            max_body_size=self.setup.max_body_size,
        )
        self.meter = meter = Meter(app)
        try:
            await app.start()
            start = getattr(bus, "start", None)
            if start is not None:
                await start()
        except Exception as exc:
            await app.aclose()
            await bus.aclose()
            await self._fail(exc)
            return
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._drain.set)
        self._spawn(self._listen(reader))
        self._spawn(self._drainer(app, meter))
        try:
            await self.setup.engine.serve(
                meter,
                [self.listener],
                shutdown_trigger=self._stop.wait,
                options=self.setup.options,
                ready=lambda: self._spawn(self._ready(app, meter)),
            )
        except Exception:
            log.exception("the engine failed")
            self.exit_code = 1
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await app.aclose()
            await bus.aclose()
            self._writer.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fail(self, exc: BaseException) -> None:
        from framework.process.boot import describe_failure

        log.error("gateway %d failed to start", self.spec.index, exc_info=exc)
        self.exit_code = 1
        await self._send(
            {"type": "error", "message": describe_failure(exc, Path(self.spec.app_dir))}
        )

    async def _ready(self, app: GatewayApp, meter: Meter) -> None:
        await self._send({"type": "ready"})
        while True:
            await asyncio.sleep(STATS_INTERVAL)
            bus = getattr(app.gateway.bus, "stats", None)
            stats: dict[str, Any] = {
                "type": "stats",
                "requests": meter.requests,
                "inflight": meter.inflight,
                "gateway": app.stats(),
            }
            if callable(bus):
                stats["bus"] = dict(bus())
            await self._send(stats)

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        # a drain message, or end of file: the master is gone, so nobody supervises us
        while line := await reader.readline():
            with contextlib.suppress(protocol.ProtocolError):
                if protocol.decode(line.rstrip(b"\n")).get("type") == "drain":
                    break
        self._drain.set()

    async def _drainer(self, app: GatewayApp, meter: Meter) -> None:
        await self._drain.wait()
        meter.draining = True
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ValueError, RuntimeError, OSError):
            loop.remove_reader(self.listener.fileno())
        await self._send({"type": "draining"})
        try:
            await app.close_websockets(1001, "server stopping")
        except Exception:
            log.exception("closing the websockets failed")
        deadline = loop.time() + self.setup.options.graceful_timeout
        while (meter.inflight or meter.quiet_for() < QUIET) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        self._stop.set()

    async def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None or self._writer.is_closing():
            return
        with contextlib.suppress(OSError):
            self._writer.write(protocol.encode(message))
            await self._writer.drain()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
