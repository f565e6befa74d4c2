"""The chat page: HTML and plain JavaScript on /_swoop/client.js (app/templates/chat.html)."""

from pathlib import Path

from framework.http import HTMLResponse, controller, get

PAGE = Path(__file__).resolve().parents[1] / "templates" / "chat.html"


@controller("/")
class HomeController:
    def __init__(self) -> None:
        # read at boot: `appctl ws:reload` serves an edited page
        self.page = PAGE.read_text(encoding="utf-8")

    @get("/")
    async def index(self) -> HTMLResponse:
        return HTMLResponse(self.page)
