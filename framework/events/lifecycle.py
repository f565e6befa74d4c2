"""Names of the events the framework itself emits (payload: the ``Application``).

=====================  ==========================================================  ========
name                   when                                                        listeners
=====================  ==========================================================  ========
``app.boot.before``    after the scan, before any bean is built                    functions only
``app.boot.after``     the container is built and the app frozen                   all
``app.startup``        ``Application.startup()`` finished singleton ``init``       all
``app.shutdown``       ``Application.shutdown()`` begins, before teardown          all
``worker.start``       a worker process booted, before it reports READY            all
``worker.stop``        a worker process is about to exit                           all
``server.start``       a server (http, ws, tcp, rpc) is accepting in this worker   all
``server.stop``        a server stopped accepting in this worker                   all
=====================  ==========================================================  ========
"""

from __future__ import annotations

from typing import Final

APP_BOOT_BEFORE: Final = "app.boot.before"
APP_BOOT_AFTER: Final = "app.boot.after"
APP_STARTUP: Final = "app.startup"
APP_SHUTDOWN: Final = "app.shutdown"
WORKER_START: Final = "worker.start"
WORKER_STOP: Final = "worker.stop"
SERVER_START: Final = "server.start"
SERVER_STOP: Final = "server.stop"
