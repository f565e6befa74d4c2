"""Modules and their command tables: collected and validated from marks at scan time
(:func:`module_spec`), compiled with bound handlers at build time (:class:`CompiledModule`).

A command is ``prefix.command`` (``chat.send``), or ``command`` alone for ``root=True`` and
for controllers with an empty prefix. Per message, routing is one dict lookup; an unknown
command falls back to the module's ``default_command``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from framework import marks
from framework.container.definitions import location_of
from framework.errors import describe
from framework.http.patterns import PathPattern, parse_pattern
from framework.websocket.binding import Invoke
from framework.websocket.marks import (
    DuplicateCommandError,
    Hook,
    HookMark,
    MessageMappingMark,
    WsControllerMark,
    WsModuleError,
    WsModuleMark,
    default_ws_prefix,
)
from framework.websocket.parsers import PARSERS, Parser

__all__ = [
    "CompiledModule",
    "Handler",
    "HandlerSpec",
    "ModuleSpec",
    "check_paths",
    "module_spec",
    "resolve_parser",
]


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """A hook or command handler found at scan time."""

    owner: type
    name: str
    function: Callable[..., Any]
    where: str

    @property
    def label(self) -> str:
        return f"{self.owner.__qualname__}.{self.name}"


@dataclass(slots=True)
class ModuleSpec:
    """A ``@ws_module`` class, validated: its path, parser, hooks and commands."""

    cls: type
    mark: WsModuleMark
    pattern: PathPattern
    parser: Any
    where: str
    hooks: dict[Hook, HandlerSpec] = field(default_factory=dict)
    commands: dict[str, HandlerSpec] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Handler:
    """A compiled handler: ``invoke(conn, msg)`` and whether its result must be awaited.

    ``takes_text`` is set when the handler's only parameter is a ``str`` of message data:
    whole-frame dispatch (raw parser, ``@on_message``) then calls ``takes_text(frame)`` for a
    text frame, with no :class:`Message` and no conversion (see ``binding.plan_handler``).
    """

    invoke: Invoke
    is_async: bool
    label: str
    takes_text: Callable[[str], Any] | None = None


@dataclass(slots=True)
class CompiledModule:
    """What the ASGI layer runs for one module path."""

    name: str
    path: str
    parser: Any
    commands: dict[str, Handler]
    default: Handler | None = None
    handshake: Handler | None = None
    open: Handler | None = None
    message: Handler | None = None
    close: Handler | None = None


def resolve_parser(value: Any, where: str) -> Any:
    """The parser instance for ``ws_module(parser=...)``.

    Raises:
        WsModuleError: an unknown name, or an object without ``decode`` and ``encode``.
    """
    if isinstance(value, str):
        factory = PARSERS.get(value)
        if factory is None:
            choices = ", ".join(repr(n) for n in PARSERS)
            raise WsModuleError(
                describe(
                    [
                        f"unknown WebSocket parser {value!r}",
                        f"at: {where}",
                        f"fix: use one of {choices}, or pass a parser class or instance",
                    ]
                )
            )
        return factory()
    parser = value() if isinstance(value, type) else value
    if not isinstance(parser, Parser):
        raise WsModuleError(
            describe(
                [
                    f"parser {value!r} has no decode(frame) and encode(cmd, data, ext) methods",
                    f"at: {where}",
                    "fix: implement the framework.websocket.Parser protocol",
                ]
            )
        )
    return parser


def module_spec(cls: type, mark: WsModuleMark) -> ModuleSpec:
    """Collect and validate one module: hooks, controllers and commands.

    Raises:
        WsModuleError: a bad path or parser, a hook declared twice, a controller without
            ``@ws_controller``, an unknown ``default_command``, both ``@on_message`` and
            controllers, or no way to handle messages at all.
        DuplicateCommandError: two handlers map the same command (both are named).
    """
    where = location_of(cls)
    try:
        pattern = parse_pattern(mark.path)
    except ValueError as exc:
        raise WsModuleError(
            describe(
                [
                    f"invalid ws_module path on {cls.__qualname__}: {exc}",
                    f"at: {where}",
                    "fix: write parameters as {name} or {name:int|float|uuid|str}",
                ]
            )
        ) from None
    spec = ModuleSpec(cls, mark, pattern, resolve_parser(mark.parser, where), where)
    for member in marks.marked_members(cls):
        for hook_mark in member.find(HookMark):
            found = HandlerSpec(cls, member.name, member.function, location_of(member.function))
            other = spec.hooks.get(hook_mark.hook)
            if other is not None:
                raise WsModuleError(
                    describe(
                        [
                            f"ws_module {cls.__qualname__} has two @{hook_mark.hook.value} "
                            "handlers",
                            f"first:  {other.label} ({other.where})",
                            f"second: {found.label} ({found.where})",
                            "fix: keep one; call the other from it",
                        ]
                    )
                )
            spec.hooks[hook_mark.hook] = found
    for controller in mark.controllers:
        _add_commands(spec, controller)
    _check_handling(spec)
    return spec


def _add_commands(spec: ModuleSpec, controller: type) -> None:
    found = marks.first(controller, WsControllerMark)
    if found is None:
        raise WsModuleError(
            describe(
                [
                    f"ws_module {spec.cls.__qualname__} lists {controller.__qualname__} in "
                    "controllers, but it is not a @ws_controller",
                    f"at: {spec.where}",
                    f"fix: decorate {controller.__qualname__} with @ws_controller",
                ]
            )
        )
    prefix = found.prefix if found.prefix is not None else default_ws_prefix(controller)
    for member in marks.marked_members(controller):
        for mapping in member.find(MessageMappingMark):
            name = mapping.command or member.name
            command = name if mapping.root or not prefix else f"{prefix}.{name}"
            handler = HandlerSpec(
                controller, member.name, member.function, location_of(member.function)
            )
            other = spec.commands.get(command)
            if other is not None:
                raise DuplicateCommandError(
                    describe(
                        [
                            f"command {command!r} of ws_module {spec.cls.__qualname__} "
                            f"({spec.mark.path}) is mapped twice",
                            f"first:  {other.label} ({other.where})",
                            f"second: {handler.label} ({handler.where})",
                            "fix: rename one command, or give a controller another prefix",
                        ]
                    )
                )
            spec.commands[command] = handler


def _check_handling(spec: ModuleSpec) -> None:
    name, where = spec.cls.__qualname__, spec.where
    has_message = Hook.MESSAGE in spec.hooks
    if has_message and spec.commands:
        raise WsModuleError(
            describe(
                [
                    f"ws_module {name} has both @on_message and controller commands",
                    f"at: {where}",
                    "fix: @on_message receives every message and bypasses routing; remove it "
                    "or the controllers",
                ]
            )
        )
    if not has_message and not spec.commands:
        raise WsModuleError(
            describe(
                [
                    f"ws_module {name} ({spec.mark.path}) has no way to handle messages",
                    f"at: {where}",
                    "fix: list @ws_controller classes with @message_mapping methods in "
                    "controllers=[...], or add an @on_message method",
                ]
            )
        )
    default = spec.mark.default_command
    if default is not None and default not in spec.commands:
        known = ", ".join(repr(c) for c in sorted(spec.commands)) or "none"
        raise WsModuleError(
            describe(
                [
                    f"default_command {default!r} of ws_module {name} is not a command",
                    f"at: {where}",
                    f"fix: use one of the module's commands ({known})",
                ]
            )
        )


def check_paths(specs: list[ModuleSpec]) -> None:
    """Two modules may not own the same path (or two patterns matching the same paths).

    Raises:
        DuplicateCommandError: names both modules.
    """
    seen: dict[str, ModuleSpec] = {}
    for spec in specs:
        other = seen.get(spec.pattern.shape)
        if other is not None:
            raise DuplicateCommandError(
                describe(
                    [
                        f"two ws_modules own the path {spec.mark.path!r}",
                        f"first:  {other.cls.__qualname__} ({other.where})",
                        f"second: {spec.cls.__qualname__} ({spec.where})",
                        "fix: give each module its own path",
                    ]
                )
            )
        seen[spec.pattern.shape] = spec
