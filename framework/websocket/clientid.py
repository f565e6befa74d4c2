"""Client ids: unique strings that say which node and worker hold a connection.

A client id is ``<node>-<worker>-<boot>-<seq>``:

- ``node``: the host's name in the cluster (config ``ws.node``, default the host name with
  anything but ``[A-Za-z0-9.]`` replaced by ``_``);
- ``worker``: the worker number on that node (config ``ws.worker``, else the environment
  variable ``SWOOP_WORKER_ID`` the process manager sets, else ``0``);
- ``boot``: when this worker booted, in base 36 seconds, so a restarted worker never reuses
  the ids of its predecessor;
- ``seq``: a per-worker counter in base 36.

``web1-0-t3k9qa-1z`` is the 71st connection of worker 0 on ``web1``. The gateway uses
:meth:`ClientIdFactory.is_local` to serve a client id of this worker directly and to hand
the others to the bus (issue 6).
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass

__all__ = ["ClientId", "ClientIdFactory", "default_node", "default_worker"]

_NODE_CHARS = re.compile(r"[^A-Za-z0-9.]")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(number: int) -> str:
    if number == 0:
        return "0"
    out = []
    while number:
        number, digit = divmod(number, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


def default_node() -> str:
    """The host name, made safe for a client id."""
    return _NODE_CHARS.sub("_", socket.gethostname()) or "local"


def default_worker() -> int:
    """``SWOOP_WORKER_ID`` when the process manager set it, else 0."""
    try:
        return int(os.environ.get("SWOOP_WORKER_ID", "0"))
    except ValueError:
        return 0


@dataclass(frozen=True, slots=True)
class ClientId:
    """A client id taken apart."""

    node: str
    worker: int
    boot: str
    seq: int

    @classmethod
    def parse(cls, client_id: str) -> ClientId | None:
        """The parts of ``client_id``, or ``None`` when it is not a client id."""
        parts = client_id.rsplit("-", 3)
        if len(parts) != 4 or not parts[0]:
            return None
        node, worker, boot, seq = parts
        try:
            return cls(node, int(worker), boot, int(seq, 36))
        except ValueError:
            return None

    def __str__(self) -> str:
        return f"{self.node}-{self.worker}-{self.boot}-{base36(self.seq)}"


class ClientIdFactory:
    """Makes the client ids of one worker and tells whether an id belongs to it."""

    __slots__ = ("_prefix", "_seq", "boot", "node", "worker")

    def __init__(self, node: str, worker: int, boot: float | None = None) -> None:
        if not node or _NODE_CHARS.search(node):
            raise ValueError(f"ws.node {node!r} may only contain letters, digits and '.'")
        self.node = node
        self.worker = worker
        self.boot = base36(int(time.time() if boot is None else boot))
        self._prefix = f"{node}-{worker}-{self.boot}-"
        self._seq = 0

    def next(self) -> str:
        """A new client id, unique within this worker's life."""
        self._seq += 1
        return self._prefix + base36(self._seq)

    def is_local(self, client_id: str) -> bool:
        """Whether ``client_id`` names a connection of this worker."""
        return client_id.startswith(self._prefix)
