"""The errors of the bus."""

from __future__ import annotations

from framework.errors import FrameworkError

__all__ = ["BusError", "BusUnavailableError", "ProtocolError"]


class BusError(FrameworkError):
    """Base class of the bus errors (misconfiguration, a hub that cannot start ...)."""


class BusUnavailableError(BusError):
    """The hub or Redis cannot be reached (or did not answer in time), so an operation that
    needs another worker could not be done. Local connections keep working; the bus
    reconnects by itself."""


class ProtocolError(BusError):
    """Bytes on a hub socket or a Redis channel that are not a valid bus packet."""
