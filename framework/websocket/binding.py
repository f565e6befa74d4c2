"""Handler parameters of WebSocket hooks and commands, decided once at boot.

For each parameter, in order:

1. annotated :class:`Connection`, :class:`Session` or :class:`Message` -> that object (an
   unannotated ``conn``/``connection``, ``session`` or ``message`` too);
2. its name is a path parameter of the module -> its value;
3. in ``on_close``, ``code: int`` and ``reason: str`` -> how the connection closed;
4. its type is a bean (or ``Annotated[T, Named("x")]``) -> the bean (a request scope is open);
5. otherwise -> the message data: a handler with one such parameter gets the whole data,
   converted to its annotation (dataclasses, ``TypedDict``, ``int``, ``list[str]`` ...); with
   several, each reads the key of its name in a data object.

Conversion uses :func:`framework.http.validation.coercer` (JSON mode for the ``json``
parser, text mode for ``token`` and ``raw`` frames, so ``"42"`` becomes ``42``). Bad data
raises :class:`MessageValidationError`, answered with error 422 listing each bad field.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, get_args, get_origin

from framework.container.marks import Named
from framework.errors import describe
from framework.http.errors import FieldError, RequestValidationError
from framework.http.validation import Coerce, Invalid, coercer, strip_annotated
from framework.websocket.connection import Connection, Session
from framework.websocket.marks import Hook, WsModuleError
from framework.websocket.parsers import Message

__all__ = ["Invoke", "MessageValidationError", "plan_handler"]

MISSING: Final = object()
Invoke = Callable[[Connection, Message | None], Any]
Extract = Callable[[Connection, Message | None], Any]

_BY_NAME = {"conn": Connection, "connection": Connection, "session": Session, "message": Message}


class MessageValidationError(RequestValidationError):
    """The message data does not fit the handler's parameters (error code 422)."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        super().__init__(errors)
        self.message = "invalid message data"
        self.args = (self.message,)


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    extract: Extract
    positional: bool
    is_data: bool


def _nullable(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, type(int | None)) and type(None) in get_args(tp)


def _converted(name: str, convert: Coerce, loc: tuple[str, ...]) -> Callable[[Any], Any]:
    def run(value: Any) -> Any:
        try:
            return convert(value)
        except Invalid as exc:
            raise MessageValidationError(
                FieldError((*loc, *path), message) for path, message in exc.errors
            ) from None

    return run


def _whole_data(name: str, hint: Any, default: Any, text: bool) -> Extract:
    plain = strip_annotated(hint)
    if plain in (inspect.Parameter.empty, Any, object):
        return lambda conn, msg: None if msg is None else msg.data
    run = _converted(name, coercer(plain, text=text), ("data",))
    required = default is MISSING and not _nullable(plain)

    def extract(conn: Connection, msg: Message | None) -> Any:
        data = None if msg is None else msg.data
        if data is None:
            if required:
                raise MessageValidationError([FieldError(("data",), "field required")])
            return None if default is MISSING else default
        return run(data)

    if plain is not str:
        return extract

    def text_data(conn: Connection, msg: Message | None) -> Any:
        # a text frame for a ``str`` parameter, the common case, needs no conversion
        data = None if msg is None else msg.data
        return data if type(data) is str else extract(conn, msg)

    return text_data


def _data_field(name: str, hint: Any, default: Any, text: bool) -> Extract:
    plain = strip_annotated(hint)
    run = _converted(name, coercer(plain, text=text), ("data", name))
    required = default is MISSING and not _nullable(plain)

    def extract(conn: Connection, msg: Message | None) -> Any:
        data = None if msg is None else msg.data
        if not isinstance(data, Mapping):
            if data is None and not required:
                return None if default is MISSING else default
            raise MessageValidationError([FieldError(("data",), "expected an object")])
        if name not in data:
            if required:
                raise MessageValidationError([FieldError(("data", name), "field required")])
            return None if default is MISSING else default
        return run(data[name])

    return extract


def _special(name: str, hint: Any, hook: Hook | None, path_names: set[str]) -> Extract | None:
    plain = strip_annotated(hint)
    if plain is inspect.Parameter.empty:
        plain = _BY_NAME.get(name, plain)
    if plain is Connection:
        return lambda conn, msg: conn
    if plain is Session:
        return lambda conn, msg: conn.session
    if plain is Message:
        return lambda conn, msg: msg
    if name in path_names:
        return lambda conn, msg: conn.path_params[name]
    if hook is Hook.CLOSE and name == "code":
        return lambda conn, msg: conn.close_code
    if hook is Hook.CLOSE and name == "reason":
        return lambda conn, msg: conn.close_reason
    return None


def _bean(
    hint: Any, bean_getter: Callable[[Any], Callable[[], Any] | None]
) -> Callable[[], Any] | None:
    if get_origin(hint) is Annotated and any(isinstance(e, Named) for e in get_args(hint)[1:]):
        return bean_getter(hint)
    plain = strip_annotated(hint)
    return bean_getter(plain) if isinstance(plain, type) else None


def plan_handler(
    handler: Callable[..., Any],
    function: Callable[..., Any],
    *,
    hook: Hook | None,
    path_names: set[str],
    bean_getter: Callable[[Any], Callable[[], Any] | None],
    text: bool,
    where: str,
    skip_first: bool,
) -> tuple[Invoke, Callable[[str], Any] | None]:
    """Return ``invoke(conn, msg)``, calling ``handler`` with its parameters bound, and
    ``handler`` itself when a text frame can be passed to it as it is (its one positional
    parameter is message data annotated ``str``: the value the binding would give it), else
    ``None`` (see ``Handler.takes_text``).

    Args:
        handler: what to call (a bound method).
        function: the function to read the signature and hints from.
        hook: the lifecycle hook, or ``None`` for a command handler.
        path_names: the module path's parameter names.
        bean_getter: the container's getter for a type, or ``None`` when it is not a bean.
        text: convert data in text mode (token and raw frames).
        where: ``file:line`` of the handler, for error messages.
        skip_first: skip ``self``.

    Raises:
        WsModuleError: a hint cannot be resolved, or a parameter cannot be bound.
    """
    label = getattr(function, "__qualname__", repr(function))
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except NameError as exc:
        raise WsModuleError(
            describe(
                [
                    f"cannot read the type hints of WebSocket handler {label}: {exc}",
                    f"at: {where}",
                    "fix: import the name at module level (not only under TYPE_CHECKING)",
                ]
            )
        ) from exc
    params = list(inspect.signature(function).parameters.values())[1 if skip_first else 0 :]
    found: list[_Param] = []
    data_params: list[inspect.Parameter] = []
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        hint = hints.get(param.name, inspect.Parameter.empty)
        positional = param.kind is not param.KEYWORD_ONLY
        extract = _special(param.name, hint, hook, path_names)
        if extract is None:
            getter = _bean(hint, bean_getter)
            if getter is not None:
                extract = _call(getter)
        if extract is None:
            data_params.append(param)
            found.append(_Param(param.name, _unset, positional, True))
        else:
            found.append(_Param(param.name, extract, positional, False))
    if data_params and hook in (Hook.HANDSHAKE, Hook.OPEN, Hook.CLOSE):
        names = ", ".join(repr(p.name) for p in data_params)
        raise WsModuleError(
            describe(
                [
                    f"{hook.value} handler {label} has parameter(s) {names} that cannot be bound",
                    f"at: {where}",
                    "fix: annotate them as Connection, Session or a bean, name them after a "
                    "path parameter, or (on_close) call them code and reason",
                ]
            )
        )
    takes_text = None
    if len(found) == 1 and found[0].is_data and found[0].positional:
        hint = strip_annotated(hints.get(found[0].name, inspect.Parameter.empty))
        takes_text = handler if hint is str else None
    if data_params:
        found = _with_data(found, data_params, hints, text)
    return _invoker(handler, found), takes_text


def _unset(conn: Connection, msg: Message | None) -> Any:
    raise AssertionError("data parameter without an extractor")


def _call(getter: Callable[[], Any]) -> Extract:
    return lambda conn, msg: getter()


def _with_data(
    found: list[_Param], data: list[inspect.Parameter], hints: dict[str, Any], text: bool
) -> list[_Param]:
    extractors: dict[str, Extract] = {}
    for param in data:
        default = MISSING if param.default is param.empty else param.default
        hint = hints.get(param.name, inspect.Parameter.empty)
        if len(data) == 1:
            extractors[param.name] = _whole_data(param.name, hint, default, text)
        else:
            extractors[param.name] = _data_field(param.name, hint, default, text)
    return [
        _Param(p.name, extractors[p.name], p.positional, True) if p.is_data else p for p in found
    ]


def _invoker(handler: Callable[..., Any], params: list[_Param]) -> Invoke:
    if not params:
        return lambda conn, msg: handler()
    positional = [p.extract for p in params if p.positional]
    keyword = [(p.name, p.extract) for p in params if not p.positional]
    if len(params) == 1 and positional:
        (only,) = positional
        return lambda conn, msg: handler(only(conn, msg))
    if not keyword and len(positional) == 2:
        first, second = positional
        return lambda conn, msg: handler(first(conn, msg), second(conn, msg))

    def invoke(conn: Connection, msg: Message | None) -> Any:
        args = [extract(conn, msg) for extract in positional]
        kwargs = {name: extract(conn, msg) for name, extract in keyword}
        return handler(*args, **kwargs)

    return invoke
