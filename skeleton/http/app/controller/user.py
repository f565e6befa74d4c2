"""Users over HTTP: the controller only translates between HTTP and the service."""

from framework.http import HTTPException, controller, get, post

from app.model.user import NewUser, User
from app.service.user import DuplicateEmailError, UserService


@controller("/users")
class UserController:
    def __init__(self, users: UserService) -> None:
        self.users = users

    @get("")
    async def index(self) -> list[User]:
        return self.users.all()

    @get("/{id:int}")
    async def show(self, id: int) -> User:
        user = self.users.find(id)
        if user is None:
            raise HTTPException(404, f"no user {id}")
        return user

    @post("", status_code=201)
    async def create(self, new: NewUser) -> User:
        """Register a user from a JSON body: {"name": "...", "email": "..."}."""
        try:
            return self.users.register(new)
        except DuplicateEmailError as exc:
            raise HTTPException(409, str(exc)) from exc
