"""The data of the chat commands (a missing or mistyped field is answered with error 422)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Join:
    room: str
    name: str


@dataclass(frozen=True, slots=True)
class Say:
    room: str
    text: str


@dataclass(frozen=True, slots=True)
class Leave:
    room: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    """The body of ``POST /api/rooms/{room}/messages``."""

    text: str
