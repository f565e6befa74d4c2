"""Listening sockets that the master binds once and its workers inherit.

The master calls :func:`bind_tcp`, marks the socket with :func:`make_inheritable` and passes
its file descriptor to each worker, which takes it over with :func:`adopt_socket` and hands it
to an engine. Binding in one place means every worker accepts from the same kernel queue, and
a worker restart never closes the port.
"""

from __future__ import annotations

import errno
import os
import socket

from framework.errors import FrameworkError

__all__ = ["BindError", "adopt_socket", "bind_tcp", "endpoint", "make_inheritable"]


class BindError(FrameworkError):
    """A listening socket could not be created on the requested address."""


def bind_tcp(
    host: str, port: int, *, backlog: int = 2048, reuse_port: bool = False
) -> socket.socket:
    """Bind and listen on a TCP address; return the non-blocking listening socket.

    Args:
        host: an IPv4 or IPv6 address or a host name; ``""`` means all interfaces and
            ``"[::1]"`` is accepted as well as ``"::1"``.
        port: the port, or 0 to let the kernel choose one (read it back with
            ``sock.getsockname()[1]``).
        backlog: the length of the kernel's queue of connections not yet accepted.
        reuse_port: also set ``SO_REUSEPORT``, so that several sockets may bind the same port.

    Returns:
        A listening, non-blocking socket with ``SO_REUSEADDR`` set, which the caller owns.

    Raises:
        BindError: the address cannot be resolved, is in use, or is not allowed.
    """
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise BindError(
            f"Cannot listen on {host!r}: the host name does not resolve ({exc.strerror}).\n"
            "  fix: use an IP address such as 127.0.0.1 or 0.0.0.0 for server.host"
        ) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR lets another process steal the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            _set_reuse_port(sock)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise _bind_error(host, port, exc) from exc
    return sock


def make_inheritable(sock: socket.socket) -> int:
    """Let child processes inherit ``sock``; return its file descriptor to pass to them.

    Python creates descriptors non-inheritable (PEP 446); a worker started with
    ``subprocess.Popen(..., pass_fds=[fd])`` or ``os.execv`` needs the flag set.
    """
    sock.set_inheritable(True)
    return sock.fileno()


def adopt_socket(fd: int) -> socket.socket:
    """Take ownership of an inherited listening socket by its file descriptor.

    The family and type are read from the descriptor. The returned socket is non-blocking
    and closing it closes ``fd``.
    """
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    return sock


def endpoint(sock: socket.socket) -> str:
    """The bound address as ``host:port``, with IPv6 hosts in brackets (``[::1]:8000``)."""
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _set_reuse_port(sock: socket.socket) -> None:
    option = getattr(socket, "SO_REUSEPORT", None)
    if option is None:
        raise BindError(
            "Cannot set SO_REUSEPORT: this platform does not support it.\n"
            "  fix: leave reuse_port off; workers share the master's socket instead"
        )
    sock.setsockopt(socket.SOL_SOCKET, option, 1)


def _bind_error(host: str, port: int, exc: OSError) -> BindError:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        fix = "stop the process using it (`ss -ltnp`), or choose another server.port"
    elif exc.errno == errno.EACCES:
        fix = "ports below 1024 need privileges: choose a port >= 1024 for server.port"
    elif exc.errno == errno.EADDRNOTAVAIL:
        fix = "this machine has no such address: use 127.0.0.1, 0.0.0.0 or one of its own"
    else:
        fix = "check server.host and server.port"
    return BindError(f"Cannot listen on {where}: {exc.strerror}.\n  fix: {fix}")
