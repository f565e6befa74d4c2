"""The IoC container: precomputed construction plans over an ``injector`` registry.

``injector`` is the registry and the module system: every bean is bound in an
``injector.Injector`` (so ``injector`` modules can use and provide beans), and anything an
``injector.Module`` binds can be injected into beans. Resolution of our own beans does not go
through ``injector`` per call: at boot each bean gets a construction closure with its
dependencies already chosen, so ``get`` is a dict lookup and a call.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from itertools import repeat
from typing import TYPE_CHECKING, Any, TypeVar, cast

import injector

from framework.container.definitions import BeanDefinition
from framework.container.dependencies import Dependency, Provider, call_dependencies
from framework.container.marks import Scope
from framework.container.planning import (
    Frame,
    Index,
    Special,
    ambiguous,
    check_graph,
    dependencies_of,
    needed_by,
    not_found,
    type_label,
)
from framework.container.scopes import RequestScope, request_getter
from framework.errors import FrozenError

if TYPE_CHECKING:
    from framework.config import Config
    from framework.container.extension import BeanPostProcessor

__all__ = ["Container"]

T = TypeVar("T")
log = logging.getLogger("swoop.container")

_ABSENT = Special("absent")
_NONE = Special("none")


def _constant(value: Any) -> Callable[[], Any]:
    # repeat(x).__next__ is a C-level zero-argument callable: the cheapest getter there is.
    return repeat(value).__next__


class Container:
    """Holds the beans of one application. Built and frozen by ``Application.boot``.

    Use :meth:`get` to resolve a bean by type (or ``Annotated[T, Named(...)]``),
    :meth:`getter` for a precomputed zero-argument resolver, :meth:`call` to call a function
    with its parameters injected, :meth:`request_scope` to open a request scope, and
    :meth:`child` to get a container with some beans replaced (tests).
    """

    def __init__(
        self,
        definitions: Iterable[BeanDefinition],
        *,
        config: Config,
        post_processors: Iterable[BeanPostProcessor] = (),
        modules: Iterable[Any] = (),
    ) -> None:
        self.config = config
        self._definitions = list(definitions)
        self._post_processors = list(post_processors)
        self._modules = list(modules)
        self._index = Index(self._definitions)
        self._injector = injector.Injector(self._modules, auto_bind=False)
        self._request_var: ContextVar[dict[int, Any] | None] = ContextVar(
            f"swoop_request_{id(self):x}", default=None
        )
        self._plans: dict[int, list[tuple[Dependency, Any]]] = {}
        self._getters: dict[int, Callable[[], Any]] = {}
        self._singletons: dict[int, Any] = {}
        self._created: list[BeanDefinition] = []
        self._key_getters: dict[Any, Callable[[], Any]] = {}
        self._call_plans: dict[Any, Callable[..., Any]] = {}
        self._frozen = False

    # -- building ---------------------------------------------------------------------------

    def build(self) -> None:
        """Check every bean's dependencies, then build the singletons in dependency order.

        Raises:
            BeanNotFoundError, AmbiguousBeanError, CircularDependencyError,
            ScopeWideningError, InjectionError: the bean graph cannot be built as declared.
        """
        order = check_graph(self._definitions, self._plan)
        for definition in self._definitions:
            self._bind_in_injector(definition)
        for definition in order:
            if definition.scope is Scope.SINGLETON:
                self._getter(definition)

    def freeze(self) -> None:
        self._frozen = True

    @property
    def frozen(self) -> bool:
        return self._frozen

    @property
    def has_request_beans(self) -> bool:
        """Whether any bean is request-scoped (servers skip opening scopes otherwise)."""
        return any(d.scope is Scope.REQUEST for d in self._definitions)

    @property
    def definitions(self) -> tuple[BeanDefinition, ...]:
        return tuple(self._definitions)

    @property
    def injector(self) -> injector.Injector:
        """The underlying ``injector.Injector``: every bean is bound in it."""
        return self._injector

    def _bind_in_injector(self, definition: BeanDefinition) -> None:
        def provide() -> Any:
            return self._getter(definition)()

        self._injector.binder.bind(
            definition.cls, to=injector.CallableProvider(provide), scope=injector.NoScope
        )

    def _plan(
        self, definition: BeanDefinition, frames: list[Frame]
    ) -> list[tuple[Dependency, Any]]:
        plan = self._plans.get(definition.index)
        if plan is None:
            plan = []
            for dependency in dependencies_of(definition):
                frame = Frame(definition, dependency)
                plan.append((dependency, self._target(dependency, [*frames, frame])))
            self._plans[definition.index] = plan
        return plan

    def _target(self, dependency: Dependency, frames: list[Frame]) -> Any:
        """What satisfies ``dependency``: a BeanDefinition or a :class:`Special`."""
        if dependency.config is not None:
            return Special("config", self._config_value(dependency))
        tp = dependency.annotation
        if dependency.named is not None:
            found = self._index.by_name.get(dependency.named)
            if found is None:
                raise not_found(f"a bean named {dependency.named!r}", needed_by(frames), tp)
            return found
        candidates = self._index.candidates(tp)
        if candidates:
            chosen = self._index.select(tp, candidates)
            if chosen is None:
                raise ambiguous(tp, candidates, needed_by(frames))
            return chosen
        if tp is Container:
            return Special("self")
        if isinstance(tp, type) and self._injector.binder.has_explicit_binding_for(tp):
            return Special("injector", tp)
        if dependency.optional:
            return _NONE
        if dependency.has_default:
            return _ABSENT
        raise not_found(type_label(tp), needed_by(frames), tp)

    def _config_value(self, dependency: Dependency) -> Any:
        spec = dependency.config
        assert spec is not None  # guarded by the caller
        annotation = Any if dependency.annotation is Any else dependency.annotation
        if spec.required:
            return self.config.get(spec.key, type=annotation)
        return self.config.get(spec.key, spec.default, type=annotation)

    # -- getters ----------------------------------------------------------------------------

    def _getter(self, definition: BeanDefinition) -> Callable[[], Any]:
        getter = self._getters.get(definition.index)
        if getter is not None:
            return getter
        if definition.scope is Scope.SINGLETON:
            instance = self._create(definition)()
            self._singletons[definition.index] = instance
            self._created.append(definition)
            getter = _constant(instance)
        elif definition.scope is Scope.PROTOTYPE:
            getter = self._create(definition)
        else:
            getter = request_getter(self._request_var, definition, self._create(definition))
        self._getters[definition.index] = getter
        return getter

    def _dependency_getter(self, dependency: Dependency, target: Any) -> Callable[[], Any] | None:
        if isinstance(target, BeanDefinition):
            if dependency.provider:
                return _constant(Provider(self._lazy(target)))
            return self._getter(target)
        assert isinstance(target, Special)
        if target.kind == "config":
            return _constant(target.value)
        if target.kind == "self":
            return _constant(self)
        if target.kind == "injector":
            inj, tp = self._injector, target.value
            return lambda: inj.get(tp)
        if target.kind == "none":
            return _constant(None)
        return None  # "absent": leave the parameter to its default

    def _lazy(self, definition: BeanDefinition) -> Callable[[], Any]:
        return lambda: self._getter(definition)()

    def _create(self, definition: BeanDefinition) -> Callable[[], Any]:
        """The closure that makes one new, fully injected and post-processed instance."""
        if definition.has_instance:
            make: Callable[[], Any] = _constant(definition.instance)
        else:
            make = self._construct(definition)
        finishers = [
            f for p in self._post_processors if (f := p.for_bean(definition, self)) is not None
        ]
        init = getattr(definition.cls, "init", None)
        if callable(init) and not inspect.iscoroutinefunction(init) and not definition.has_instance:
            finishers.append(_call_init)
        if not finishers:
            return make
        if len(finishers) == 1:
            (only,) = finishers
            return lambda: only(make())

        def create() -> Any:
            instance = make()
            for finish in finishers:
                instance = finish(instance)
            return instance

        return create

    def _construct(self, definition: BeanDefinition) -> Callable[[], Any]:
        target: Callable[..., Any] = definition.factory or definition.cls
        positional: list[Callable[[], Any]] = []
        keywords: list[tuple[str, Callable[[], Any]]] = []
        attributes: list[tuple[str, Callable[[], Any]]] = []
        skipped = False
        for dependency, resolved in self._plan(definition, []):
            getter = self._dependency_getter(dependency, resolved)
            if dependency.kind == "attribute":
                if getter is not None:
                    attributes.append((dependency.name, getter))
            elif getter is None:
                skipped = True
            elif dependency.kind == "positional" and not skipped:
                positional.append(getter)
            else:
                keywords.append((dependency.name, getter))
        make = _call_with(target, positional, keywords)
        if not attributes:
            return make

        def make_and_set() -> Any:
            instance = make()
            for name, getter in attributes:
                setattr(instance, name, getter())
            return instance

        return make_and_set

    # -- resolution -------------------------------------------------------------------------

    def getter(self, key: Any) -> Callable[[], Any]:
        """A zero-argument callable returning the bean for ``key``; resolution happens now.

        ``key`` is a type, ``Annotated[T, Named("x")]``, or a bean name.

        Raises:
            BeanNotFoundError: nothing provides ``key``.
            AmbiguousBeanError: several beans provide it and none is primary.
        """
        cached = self._key_getters.get(key)
        if cached is not None:
            return cached
        if isinstance(key, str):
            definition = self._index.by_name.get(key)
            if definition is None:
                raise not_found(f"a bean named {key!r}", "container.get()", key)
            getter = self._getter(definition)
        else:
            (dependency,) = call_dependencies(_probe(key), "container.get()", "container.get()")
            target = self._target(dependency, [])
            found = self._dependency_getter(dependency, target)
            if found is None:
                raise not_found(type_label(key), "container.get()", key)
            getter = found
        self._key_getters[key] = getter
        return getter

    def optional_getter(self, key: Any) -> Callable[[], Any] | None:
        """:meth:`getter` for ``key``, or ``None`` when no single bean provides it (or ``key``
        is not something a bean could provide): how binding plans decide "is this a bean?"."""
        try:
            return self.getter(key)
        except Exception:  # LookupError, or a hint (a generic alias) no bean could match
            return None

    def get(self, key: type[T] | Any) -> T:
        """The bean for ``key`` (see :meth:`getter`)."""
        getter = self._key_getters.get(key)
        if getter is None:
            getter = self.getter(key)
        return cast(T, getter())

    def has(self, key: Any) -> bool:
        """Whether :meth:`get` would find exactly one bean for ``key``."""
        try:
            self.getter(key)
        except LookupError:
            return False
        return True

    def definition_of(self, key: Any) -> BeanDefinition:
        """The definition :meth:`get` uses for ``key`` (a bean type or name).

        Raises:
            BeanNotFoundError, AmbiguousBeanError: as :meth:`getter`.
        """
        if isinstance(key, str):
            found = self._index.by_name.get(key)
        else:
            candidates = self._index.candidates(key)
            found = self._index.select(key, candidates) if candidates else None
            if candidates and found is None:
                raise ambiguous(key, candidates, "container.definition_of()")
        if found is None:
            raise not_found(type_label(key) if not isinstance(key, str) else key, "", key)
        return found

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Call ``fn`` with ``args``/``kwargs``; parameters not given are injected by type."""
        plan = self._call_plans.get(fn)
        if plan is None:
            plan = self._call_plans[fn] = self._plan_call(fn)
        return cast(T, plan(*args, **kwargs))

    def _plan_call(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        owner = getattr(fn, "__qualname__", repr(fn))
        deps = call_dependencies(fn, owner, owner)
        resolved: list[tuple[Dependency, Callable[[], Any] | None]] = []
        for dependency in deps:
            try:
                target = self._target(dependency, [])
            except LookupError:
                resolved.append((dependency, None))  # must be passed by the caller
                continue
            resolved.append((dependency, self._dependency_getter(dependency, target)))

        def invoke(*args: Any, **kwargs: Any) -> Any:
            for dependency, getter in resolved[len(args) :]:
                if getter is not None and dependency.name not in kwargs:
                    kwargs[dependency.name] = getter()
            return fn(*args, **kwargs)

        return invoke

    # -- scopes and lifecycle ---------------------------------------------------------------

    def request_scope(self) -> RequestScope:
        """Open a request scope: ``with`` or ``async with``; request beans live until exit."""
        return RequestScope(self._request_var)

    def singletons(self) -> list[tuple[BeanDefinition, Any]]:
        """The singletons built so far, in creation (dependency) order."""
        return [(d, self._singletons[d.index]) for d in self._created]

    async def startup(self) -> None:
        """Await ``async def init(self)`` of each singleton, in dependency order."""
        for definition, instance in self.singletons():
            init = getattr(instance, "init", None)
            if definition.has_instance or not inspect.iscoroutinefunction(init):
                continue
            await init()

    async def aclose(self) -> None:
        """Tear singletons down in reverse creation order: ``aclose()``, else ``close()``.

        A failing teardown is logged and the others still run.
        """
        for definition, instance in reversed(self.singletons()):
            if definition.has_instance:
                continue
            try:
                aclose = getattr(instance, "aclose", None)
                if callable(aclose):
                    await aclose()
                    continue
                close = getattr(instance, "close", None)
                if callable(close):
                    result = close()
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                log.exception("teardown of bean %s failed", definition.name)

    def child(self, overrides: Mapping[Any, Any]) -> Container:
        """A new container whose beans for the given types/names are the given objects.

        The child builds its own singletons; the parent is untouched.
        """
        replaced: dict[int, Any] = {}
        for key, value in overrides.items():
            replaced[self.definition_of(key).index] = value
        definitions = []
        for definition in self._definitions:
            copy = _copy(definition)
            if definition.index in replaced:
                copy.instance, copy.has_instance = replaced[definition.index], True
                copy.factory = None
            definitions.append(copy)
        child = Container(
            definitions,
            config=self.config,
            post_processors=self._post_processors,
            modules=self._modules,
        )
        child.build()
        child.freeze()
        return child

    def register(self, definition: BeanDefinition) -> None:
        """Add a bean before :meth:`build`.

        Raises:
            FrozenError: the container was already built and frozen.
        """
        if self._frozen:
            raise FrozenError(
                f"cannot add bean {definition.label}: the container is frozen after boot; "
                "declare it with @bean or add it in an Extension.scanned() hook"
            )
        self._definitions.append(definition)
        self._index = Index(self._definitions)


def _probe(key: Any) -> Callable[..., Any]:
    def probe(value: Any) -> None:
        """Lets call_dependencies read ``key`` exactly as it reads a parameter hint."""

    probe.__annotations__ = {"value": key, "return": None}
    return probe


def _copy(definition: BeanDefinition) -> BeanDefinition:
    return BeanDefinition(
        name=definition.name,
        cls=definition.cls,
        scope=definition.scope,
        aliases=definition.aliases,
        primary=definition.primary,
        factory=definition.factory,
        instance=definition.instance,
        has_instance=definition.has_instance,
        marks=definition.marks,
        declared_at=definition.declared_at,
    )


def _call_init(instance: Any) -> Any:
    instance.init()
    return instance


def _call_with(
    target: Callable[..., Any],
    positional: list[Callable[[], Any]],
    keywords: list[tuple[str, Callable[[], Any]]],
) -> Callable[[], Any]:
    """A closure calling ``target`` with fresh dependency values, specialised for speed."""
    if not keywords:
        if not positional:
            return target
        if len(positional) == 1:
            (a,) = positional
            return lambda: target(a())
        if len(positional) == 2:
            a, b = positional
            return lambda: target(a(), b())
        if len(positional) == 3:
            a, b, c = positional
            return lambda: target(a(), b(), c())
        if len(positional) == 4:
            a, b, c, d = positional
            return lambda: target(a(), b(), c(), d())
    return lambda: target(*[g() for g in positional], **{n: g() for n, g in keywords})
