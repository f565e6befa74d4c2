"""The container: scopes, injection by type and name, lifecycle, overrides, boot errors."""

from __future__ import annotations

import abc
from typing import Annotated, Protocol

import injector
import pytest

from framework import (
    AmbiguousBeanError,
    Application,
    BeanNotFoundError,
    CircularDependencyError,
    Container,
    Named,
    Provider,
    ScopeWideningError,
    bean,
    config_value,
    inject,
)
from framework.container import (
    BeanDefinition,
    DuplicateBeanError,
    InjectionError,
    NoRequestScopeError,
)
from framework.errors import FrozenError

created: list[str] = []


@bean
class Clock:
    def __init__(self) -> None:
        created.append("Clock")


@bean
class Repo:
    def __init__(self, clock: Clock) -> None:
        created.append("Repo")
        self.clock = clock


@bean
class Service:
    def __init__(self, repo: Repo, clock: Clock) -> None:
        created.append("Service")
        self.repo = repo
        self.clock = clock


def test_singletons_are_built_at_boot_in_dependency_order() -> None:
    created.clear()
    app = Application.from_classes(Service, Repo, Clock)
    assert created == ["Clock", "Repo", "Service"]
    service = app.container.get(Service)
    assert service is app.container.get(Service)
    assert service.repo.clock is service.clock is app.container.get(Clock)
    assert created == ["Clock", "Repo", "Service"]


@bean(scope="prototype")
class Draft:
    def __init__(self, clock: Clock, repo: Repo) -> None:
        self.clock = clock
        self.repo = repo


def test_prototype_is_new_per_resolution_with_shared_singletons() -> None:
    app = Application.from_classes(Draft, Repo, Clock)
    first, second = app.container.get(Draft), app.container.get(Draft)
    assert first is not second
    assert first.clock is second.clock


@bean(scope="request")
class RequestState:
    closed = 0

    def __init__(self) -> None:
        self.items: list[str] = []

    def close(self) -> None:
        RequestState.closed += 1


@bean
class Auditor:
    def __init__(self, state: Provider[RequestState]) -> None:
        self.state = state


def test_request_scope_gives_one_instance_per_scope_and_closes_it() -> None:
    app = Application.from_classes(RequestState, Auditor)
    RequestState.closed = 0
    with app.request_scope():
        a = app.container.get(RequestState)
        assert app.container.get(RequestState) is a
        assert app.container.get(Auditor).state() is a
    with app.request_scope():
        assert app.container.get(RequestState) is not a
    assert RequestState.closed == 2


async def test_async_request_scope_closes_with_aclose() -> None:
    closed: list[str] = []

    @bean(scope="request")
    class Session:
        async def aclose(self) -> None:
            closed.append("aclose")

    app = Application.from_classes(Session)
    async with app.request_scope():
        app.container.get(Session)
    assert closed == ["aclose"]


def test_request_bean_outside_a_scope_says_how_to_open_one() -> None:
    app = Application.from_classes(RequestState)
    with pytest.raises(NoRequestScopeError) as info:
        app.container.get(RequestState)
    assert str(info.value).splitlines() == [
        "request bean RequestState was resolved outside a request scope",
        f"  declared at: {app.container.definition_of(RequestState).location}",
        "  fix: resolve it while serving a request, or open one with "
        "`with app.container.request_scope():`",
    ]


class Storage(abc.ABC):
    @abc.abstractmethod
    def read(self) -> str: ...


@bean
class DiskStorage(Storage):
    def read(self) -> str:
        return "disk"


@bean(name="memory", alias=("ram",))
class MemoryStorage(Storage):
    def read(self) -> str:
        return "memory"


@bean(primary=True)
class CloudStorage(Storage):
    def read(self) -> str:
        return "cloud"


@bean
class Reader:
    def __init__(
        self,
        default: Storage,
        named: Annotated[Storage, Named("memory")],
        aliased: Annotated[Storage, Named("ram")],
    ) -> None:
        self.values = (default.read(), named.read(), aliased.read())


def test_abc_resolves_to_primary_and_names_and_aliases_pick_one() -> None:
    app = Application.from_classes(DiskStorage, MemoryStorage, CloudStorage, Reader)
    assert app.container.get(Reader).values == ("cloud", "memory", "memory")
    assert app.container.get("ram") is app.container.get(MemoryStorage)
    assert app.container.get(Annotated[Storage, Named("disk_storage")]).read() == "disk"


def test_ambiguous_abc_lists_candidates() -> None:
    @bean
    class Needs:
        def __init__(self, storage: Storage) -> None:
            self.storage = storage

    with pytest.raises(AmbiguousBeanError) as info:
        Application.from_classes(DiskStorage, MemoryStorage, Needs)
    disk = f"DiskStorage ({_where(DiskStorage)})"
    memory = f"MemoryStorage ({_where(MemoryStorage)})"
    assert str(info.value).splitlines() == [
        "2 beans provide Storage and none is primary",
        f"  candidates: {disk}, {memory}",
        f"  needed by: {_qual(Needs)}.__init__(storage) ({_where(Needs)})",
        "  fix: mark one @bean(primary=True), or ask for one by name: "
        'Annotated[Storage, Named("...")]',
    ]


class Greeter(Protocol):
    def greet(self, name: str) -> str: ...


@bean
class English:
    def greet(self, name: str) -> str:
        return f"hello {name}"


def test_protocol_resolves_to_its_only_structural_implementation() -> None:
    @bean
    class Door:
        def __init__(self, greeter: Greeter) -> None:
            self.greeter = greeter

    app = Application.from_classes(English, Door)
    assert app.container.get(Door).greeter.greet("ada") == "hello ada"


class UserRepository:
    pass


@bean
class UserService:
    def __init__(self, repo: UserRepository) -> None:
        self.repo = repo


@bean
class UserController:
    def __init__(self, service: UserService) -> None:
        self.service = service


def test_missing_bean_shows_the_chain_and_the_fix() -> None:
    with pytest.raises(BeanNotFoundError) as info:
        Application.from_classes(UserController, UserService)
    assert str(info.value).splitlines() == [
        "no bean provides UserRepository",
        "  needed by: UserController.__init__ -> UserService.__init__(repo) "
        f"({_where(UserService)})",
        "  fix: decorate UserRepository with @bean, or bind it in config/beans.py",
    ]


@bean
class Chicken:
    def __init__(self, egg: Egg) -> None:
        self.egg = egg


@bean
class Egg:
    def __init__(self, chicken: Chicken) -> None:
        self.chicken = chicken


def test_cycle_is_a_boot_error_naming_the_loop() -> None:
    with pytest.raises(CircularDependencyError) as info:
        Application.from_classes(Chicken, Egg)
    assert str(info.value).splitlines() == [
        "beans depend on each other in a cycle",
        "  cycle: Chicken.__init__(egg) -> Egg.__init__(chicken) -> Chicken",
        f"  at: {_where(Chicken)}",
        "  fix: inject Provider[Egg] into Chicken and call it when needed, or move the shared "
        "part into a third bean",
    ]


@bean
class Hen:
    def __init__(self, egg: Provider[Nest]) -> None:
        self.egg = egg


@bean
class Nest:
    def __init__(self, hen: Hen) -> None:
        self.hen = hen


def test_a_provider_breaks_a_cycle() -> None:
    app = Application.from_classes(Hen, Nest)
    assert app.container.get(Hen).egg().hen is app.container.get(Hen)


def test_singleton_depending_on_request_bean_is_scope_widening() -> None:
    @bean
    class Holder:
        def __init__(self, state: RequestState) -> None:
            self.state = state

    with pytest.raises(ScopeWideningError) as info:
        Application.from_classes(Holder, RequestState)
    assert str(info.value).splitlines() == [
        f"singleton bean {_qual(Holder)} depends on request bean RequestState",
        f"  needed by: {_qual(Holder)}.__init__(state) ({_where(Holder)})",
        f"  fix: inject Provider[RequestState] and call it per use, or make {_qual(Holder)} "
        "request-scoped",
    ]


def test_duplicate_bean_names_are_reported_with_both_places() -> None:
    @bean(name="store")
    class A:
        pass

    @bean(name="store")
    class B:
        pass

    with pytest.raises(DuplicateBeanError) as info:
        Application.from_classes(A, B)
    assert str(info.value).splitlines() == [
        "two beans are named 'store'",
        f"  first: {_qual(A)} ({_where(A)})",
        f"  second: {_qual(B)} ({_where(B)})",
        "  fix: give one of them another name: @bean(name='...')",
    ]


def test_parameter_without_type_hint_is_an_injection_error() -> None:
    @bean
    class Loose:
        def __init__(self, thing) -> None:  # type: ignore[no-untyped-def]
            self.thing = thing

    with pytest.raises(InjectionError) as info:
        Application.from_classes(Loose)
    assert str(info.value).splitlines() == [
        f"cannot inject parameter 'thing' of {_qual(Loose)}.__init__: it has no type hint",
        f"  at: {_where(Loose)}",
        "  fix: annotate it, like `thing: SomeBean`, or give it a default",
    ]


@bean
class Settings:
    name: str = config_value("app.name")
    debug: bool = config_value("app.debug", default=False)

    def __init__(self, port: Annotated[int, config_value("server.port", default=18306)]) -> None:
        self.port = port


def test_config_values_are_injected_and_converted() -> None:
    app = Application.from_classes(
        Settings, config={"app": {"name": "demo"}, "server": {"port": "8080"}}
    )
    settings = app.container.get(Settings)
    assert (settings.name, settings.debug, settings.port) == ("demo", False, 8080)


@bean
class Lazy:
    clock: Clock = inject()
    repo: Repo = inject(name="repo")


def test_attribute_injection() -> None:
    app = Application.from_classes(Lazy, Clock, Repo)
    lazy = app.container.get(Lazy)
    assert lazy.clock is app.container.get(Clock)
    assert lazy.repo is app.container.get(Repo)


def test_optional_dependency_is_none_when_no_bean_provides_it() -> None:
    @bean
    class Maybe:
        def __init__(self, repo: UserRepository | None, retries: int = 3) -> None:
            self.repo = repo
            self.retries = retries

    maybe = Application.from_classes(Maybe).container.get(Maybe)
    assert (maybe.repo, maybe.retries) == (None, 3)


lifecycle: list[str] = []


@bean
class Pool:
    def init(self) -> None:
        lifecycle.append("pool.init")

    async def aclose(self) -> None:
        lifecycle.append("pool.aclose")


@bean
class Cache:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def init(self) -> None:
        lifecycle.append("cache.init")

    def close(self) -> None:
        lifecycle.append("cache.close")


async def test_lifecycle_init_startup_and_reverse_teardown() -> None:
    lifecycle.clear()
    app = Application.from_classes(Cache, Pool)
    assert lifecycle == ["pool.init"]
    async with app:
        assert lifecycle == ["pool.init", "cache.init"]
    assert lifecycle == ["pool.init", "cache.init", "cache.close", "pool.aclose"]


def test_child_container_overrides_and_rebuilds_dependents() -> None:
    class FrozenClock(Clock):
        pass

    app = Application.from_classes(Service, Repo, Clock)
    frozen = FrozenClock()
    child = app.container.child({Clock: frozen})
    assert child.get(Service).clock is frozen
    assert child.get(Repo).clock is frozen
    assert app.container.get(Service).clock is not frozen


def test_boot_overrides_replace_a_bean_before_anything_is_built() -> None:
    created.clear()
    fake = object.__new__(Clock)
    app = Application.from_classes(Service, Repo, Clock, overrides={Clock: fake})
    assert app.container.get(Service).clock is fake
    assert "Clock" not in created


def test_call_injects_missing_parameters() -> None:
    @inject
    def report(prefix: str, service: Service) -> str:
        return f"{prefix}:{type(service.repo).__name__}"

    app = Application.from_classes(Service, Repo, Clock)
    assert app.container.call(report, "r") == "r:Repo"


class Url(str):
    pass


class UrlModule(injector.Module):
    @injector.provider
    def url(self, clock: Clock) -> Url:
        return Url(f"sqlite://{type(clock).__name__}")


@bean
class Db:
    def __init__(self, url: Url) -> None:
        self.url = url


def test_injector_modules_provide_and_use_beans() -> None:
    app = Application.from_classes(Db, Clock, config={"beans": {"modules": [UrlModule()]}})
    assert app.container.get(Db).url == "sqlite://Clock"
    assert app.container.injector.get(Clock) is app.container.get(Clock)


def test_frozen_container_refuses_new_beans() -> None:
    app = Application.from_classes(Clock)
    with pytest.raises(FrozenError):
        app.container.register(BeanDefinition("late", Clock))


def test_two_applications_share_nothing() -> None:
    one, two = Application.from_classes(Clock), Application.from_classes(Clock)
    assert one.container.get(Clock) is not two.container.get(Clock)
    assert isinstance(one.container.get(Container), Container)
    assert one.container.get(Application) is one


def test_unknown_type_from_get_is_not_found() -> None:
    app = Application.from_classes(Clock)
    with pytest.raises(BeanNotFoundError) as info:
        app.container.get(UserRepository)
    assert str(info.value).splitlines()[0] == "no bean provides UserRepository"
    assert not app.container.has(UserRepository)
    assert app.container.has(Clock)


def _where(cls: type) -> str:
    from framework.container.definitions import location_of

    return location_of(cls)


def _qual(cls: type) -> str:
    return cls.__qualname__


def test_builtin_parameter_without_default_suggests_a_config_value() -> None:
    @bean
    class Port:
        def __init__(self, port: int) -> None:
            self.port = port

    with pytest.raises(BeanNotFoundError) as info:
        Application.from_classes(Port)
    assert str(info.value).splitlines() == [
        "no bean provides int",
        f"  needed by: {_qual(Port)}.__init__(port) ({_where(Port)})",
        "  fix: give it a default, or inject a config value: "
        'Annotated[int, config_value("some.key")]',
    ]
