"""Real servers on loopback for tests: an engine serving an ASGI app, always stopped on exit.

```python
async def test_hello() -> None:
    async with serve_asgi(app, engine="uvicorn") as url, httpx.AsyncClient() as client:
        assert (await client.get(f"{url}/hello")).status_code == 200
```

The server runs in a task of the caller's event loop. Leaving the ``async with`` block, by any
route, starts a graceful stop and waits for it; a server cannot outlive its block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import urlsplit

import anyio
from anyio.abc import SocketStream
from anyio.from_thread import start_blocking_portal

from framework.server.engine import Engine, EngineOptions, engine_named, raise_unwrapped
from framework.server.sockets import bind_tcp, endpoint
from framework.server.typing import AnyASGIApp

__all__ = [
    "open_raw",
    "raw_http_request",
    "read_until_closed",
    "serve_asgi",
    "serve_asgi_in_thread",
]

# Beyond the grace period the engine cancels what is left; this covers lifespan shutdown.
_STOP_SLACK = 5.0


@asynccontextmanager
async def serve_asgi(
    app: AnyASGIApp,
    *,
    engine: str | Engine = "hypercorn",
    host: str = "127.0.0.1",
    port: int = 0,
    options: EngineOptions | None = None,
) -> AsyncIterator[str]:
    """Serve ``app`` with an engine on ``host:port`` and yield its base URL.

    Port 0 (the default) binds a free port, read back into the URL
    (``"http://127.0.0.1:54321"``). The URL is yielded once the engine accepts connections
    and its lifespan startup finished. On exit the engine stops gracefully: in-flight
    requests get ``options.graceful_timeout`` seconds, after which it is cancelled.

    Raises:
        LifespanStartupError: the app's startup failed, nothing was yielded.
        EngineUnavailableError, BindError: as :func:`engine_named` and :func:`bind_tcp`.
    """
    chosen = engine_named(engine) if isinstance(engine, str) else engine
    options = options or EngineOptions()
    sock = bind_tcp(host, port)
    url = f"http://{endpoint(sock)}"
    ready = anyio.Event()
    stopped = anyio.Event()
    shutdown = anyio.Event()

    async def run_engine() -> None:
        try:
            await chosen.serve(
                app, [sock], shutdown_trigger=shutdown.wait, options=options, ready=ready.set
            )
        finally:
            stopped.set()
            ready.set()  # wakes the waiter below when the engine failed to start

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_engine)
            await ready.wait()
            if stopped.is_set():
                return  # the task group re-raises the engine's error
            try:
                yield url
            finally:
                shutdown.set()
                with anyio.CancelScope(shield=True):
                    with anyio.move_on_after(options.graceful_timeout + _STOP_SLACK):
                        await stopped.wait()
                tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise_unwrapped(group)
    finally:
        sock.close()


@contextmanager
def serve_asgi_in_thread(
    app: AnyASGIApp,
    *,
    engine: str | Engine = "hypercorn",
    host: str = "127.0.0.1",
    port: int = 0,
    options: EngineOptions | None = None,
) -> Iterator[str]:
    """:func:`serve_asgi` for synchronous tests: the server runs in an event loop thread."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(
            serve_asgi(app, engine=engine, host=host, port=port, options=options)
        ) as url,
    ):
        yield url


async def open_raw(url: str) -> SocketStream:
    """A plain TCP connection to the server at ``url``, for bytes no client library sends."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return await anyio.connect_tcp(parts.hostname, parts.port)


async def read_until_closed(stream: SocketStream, seconds: float = 3.0) -> bytes:
    """Everything the server sends on ``stream`` until it closes the connection.

    Raises:
        TimeoutError: still open after ``seconds``.
    """
    data = b""
    with anyio.fail_after(seconds):
        try:
            while True:
                data += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return data


async def raw_http_request(
    url: str, target: str, *, method: str = "GET", headers: str = ""
) -> tuple[int, bytes]:
    """Send one HTTP/1.1 request with its target exactly as written (``/../x``,
    ``//host/``: what httpx would normalise) to the server at ``url``; return the status
    and the body.

    Args:
        headers: extra header lines, each ending with ``\r\n``.
    """
    async with await open_raw(url) as stream:
        head = f"{method} {target} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n"
        await stream.send(head.encode("latin-1"))
        data = await read_until_closed(stream, 10.0)
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]
