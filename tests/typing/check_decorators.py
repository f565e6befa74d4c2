"""Checked by ``mypy --strict``, never run: decorated objects keep their types and signatures."""

from __future__ import annotations

from typing import Annotated, assert_type

from framework import Event, Named, Provider, bean, config_value, inject, listener


@bean
class Clock:
    def now(self) -> float:
        return 0.0


@bean(name="repo", scope="prototype", alias=("r",), primary=True)
class Repo:
    def __init__(self, clock: Clock, url: Annotated[str, config_value("db.url")]) -> None:
        self.clock = clock
        self.url = url


@bean
class Service:
    timeout: float = config_value("service.timeout", default=1.5)
    clock: Clock = inject()

    def __init__(self, repo: Annotated[Repo, Named("repo")], later: Provider[Clock]) -> None:
        self.repo = repo
        self.later = later


@inject
def handler(service: Service, count: int = 1) -> list[str]:
    return [type(service).__name__] * count


@listener("user.created", priority=2)
def on_created(event: Event) -> None:
    return None


@listener("user.deleted")
class OnDeleted:
    def handle(self, event: Event) -> None:
        return None


assert_type(Clock(), Clock)
assert_type(Repo(Clock(), "sqlite://"), Repo)
assert_type(handler(Service(Repo(Clock(), ""), Provider(Clock))), list[str])
assert_type(Service(Repo(Clock(), ""), Provider(Clock)).later(), Clock)
assert_type(OnDeleted().handle(Event("user.deleted")), None)
assert_type(on_created(Event("user.created")), None)
