"""Users in memory; a database repository would have the same methods."""

from framework import bean

from app.model.user import NewUser, User


@bean
class UserRepository:
    def __init__(self) -> None:
        self._users: dict[int, User] = {}

    def add(self, new: NewUser) -> User:
        user = User(id=len(self._users) + 1, name=new.name, email=new.email)
        self._users[user.id] = user
        return user

    def get(self, id: int) -> User | None:
        return self._users.get(id)

    def by_email(self, email: str) -> User | None:
        return next((u for u in self._users.values() if u.email == email), None)

    def all(self) -> list[User]:
        return list(self._users.values())
