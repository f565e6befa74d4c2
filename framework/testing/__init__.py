"""Test helpers: apps built from given classes, real servers on loopback, leak checks."""

from framework.testing.apps import AppFactory
from framework.testing.leaks import Snapshot, leaks_since, snapshot

__all__ = ["AppFactory", "Snapshot", "leaks_since", "snapshot"]
