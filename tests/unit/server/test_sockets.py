"""Listening sockets for the master: bind once, inherit, adopt."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from framework.server import BindError, adopt_socket, bind_tcp, endpoint, make_inheritable


def has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = bind_tcp("127.0.0.1", 0)
    try:
        yield sock
    finally:
        sock.close()


def test_binds_a_free_port_and_listens(listener: socket.socket) -> None:
    host, port = listener.getsockname()
    assert host == "127.0.0.1" and port > 0
    assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    with socket.create_connection((host, port), timeout=2):
        pass


def test_socket_is_non_blocking_with_reuseaddr(listener: socket.socket) -> None:
    assert listener.getblocking() is False
    assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0


def test_not_inheritable_until_asked(listener: socket.socket) -> None:
    assert listener.get_inheritable() is False
    assert make_inheritable(listener) == listener.fileno()
    assert listener.get_inheritable() is True


def test_adopt_socket_takes_over_a_descriptor(listener: socket.socket) -> None:
    adopted = adopt_socket(os.dup(listener.fileno()))
    with adopted:
        assert adopted.family == socket.AF_INET
        assert adopted.type == socket.SOCK_STREAM
        assert adopted.getsockname() == listener.getsockname()
        assert adopted.getblocking() is False


def test_endpoint_formats_ipv4(listener: socket.socket) -> None:
    assert endpoint(listener) == f"127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_binds_ipv6(host: str) -> None:
    with bind_tcp(host, 0) as sock:
        assert sock.family == socket.AF_INET6
        assert endpoint(sock) == f"[::1]:{sock.getsockname()[1]}"


def test_address_in_use_names_the_address_and_a_fix(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with pytest.raises(BindError, match=rf"127\.0\.0\.1:{port}.*\n  fix: .*server\.port"):
        bind_tcp("127.0.0.1", port)


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")
def test_reuse_port_lets_two_sockets_share_a_port() -> None:
    with bind_tcp("127.0.0.1", 0, reuse_port=True) as first:
        port = first.getsockname()[1]
        with bind_tcp("127.0.0.1", port, reuse_port=True) as second:
            assert second.getsockname()[1] == port


def test_unresolvable_host_is_a_bind_error() -> None:
    with pytest.raises(BindError, match="does not resolve"):
        bind_tcp("no-such-host.invalid", 0)


def test_foreign_address_is_a_bind_error() -> None:
    with pytest.raises(BindError, match="no such address"):
        bind_tcp("192.0.2.1", 0)  # TEST-NET-1: never assigned to this machine
