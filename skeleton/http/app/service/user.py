"""The rules about users; the repository is injected by type."""

from framework import bean

from app.model.user import NewUser, User
from app.repository.user import UserRepository


class DuplicateEmailError(Exception):
    """Another user already has this email address."""


@bean
class UserService:
    def __init__(self, repository: UserRepository) -> None:
        self.repository = repository

    def register(self, new: NewUser) -> User:
        email = new.email.strip().lower()
        if self.repository.by_email(email) is not None:
            raise DuplicateEmailError(f"{email} is already registered")
        return self.repository.add(NewUser(name=new.name.strip(), email=email))

    def find(self, id: int) -> User | None:
        return self.repository.get(id)

    def all(self) -> list[User]:
        return self.repository.all()
