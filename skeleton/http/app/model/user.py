"""A user, and the body that creates one (bound from JSON and validated at the edge)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NewUser:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    email: str
