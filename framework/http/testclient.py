"""An in-process test client: httpx over the ASGI application, with lifespan.

```python
async with TestClient(app) as client:
    assert (await client.get("/hello/ada")).json() == {"hello": "ada"}
```
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import httpx

if TYPE_CHECKING:
    from framework.application import Application

__all__ = ["TestClient"]


class TestClient:
    """``httpx.AsyncClient`` bound to an application's ASGI app, without a socket.

    Entering starts the application (``app.startup()``) unless it already runs; leaving
    shuts down what entering started. Unhandled handler errors are answered with 500 as a
    server would, not raised into the test.

    Args:
        app: a booted :class:`~framework.Application`.
        base_url: the URL requests are made against.
        kwargs: passed to ``httpx.AsyncClient`` (``headers``, ``cookies``, ``timeout``...).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self, app: Application, *, base_url: str = "http://testserver", **kwargs: Any
    ) -> None:
        from framework.http import asgi_app

        self.app = app
        transport = httpx.ASGITransport(app=asgi_app(app))
        self.client = httpx.AsyncClient(transport=transport, base_url=base_url, **kwargs)
        self._started_here = False

    async def __aenter__(self) -> httpx.AsyncClient:
        if not self.app.started:
            await self.app.startup()
            self._started_here = True
        await self.client.__aenter__()
        return self.client

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.client.__aexit__(et, e, tb)
        finally:
            if self._started_here:
                self._started_here = False
                with anyio.CancelScope(shield=True):
                    await self.app.shutdown()
