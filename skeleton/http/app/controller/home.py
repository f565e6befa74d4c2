"""The home page and a greeting."""

from framework.config import Config
from framework.http import controller, get


@controller("/")
class HomeController:
    def __init__(self, config: Config) -> None:
        self.name = config.get("app.name", "{{name}}", type=str)

    @get("/")
    async def index(self) -> dict[str, str]:
        """The app's name: a cheap health check."""
        return {"app": self.name, "framework": "swoop"}

    @get("/hello/{name}")
    async def hello(self, name: str) -> dict[str, str]:
        return {"hello": name}
