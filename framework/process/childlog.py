"""Logging of the master's children (workers and gateways): one line format naming the
process, and the engine's access log sent where ``server.access_log`` says."""

from __future__ import annotations

import logging
import sys

__all__ = ["configure_child_logging"]

_ACCESS_LOGGERS = ("hypercorn.access", "uvicorn.access")


def configure_child_logging(who: str, access_log: str | None) -> None:
    """Log to stdout (the master sends it to the server log) as ``[<who> <pid>]``.

    Args:
        who: what the process is, e.g. ``"ws worker 1"`` or ``"ws gateway 0"``.
        access_log: a file for the access log, ``"-"`` for stdout, ``None`` for none.
    """
    fmt = f"%(asctime)s [{who} %(process)d] %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=fmt, stream=sys.stdout)
    if access_log is None:
        return
    handler: logging.Handler
    if access_log == "-":
        handler = logging.StreamHandler(sys.stdout)
    else:
        handler = logging.FileHandler(access_log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in _ACCESS_LOGGERS:
        access = logging.getLogger(name)
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
