"""HTTP: controllers, routing, binding, responses, middleware, errors and OpenAPI.

```python
from framework.http import controller, get

@controller("/hello")
class HelloController:
    @get("/{name}")
    async def hello(self, name: str) -> dict[str, str]:
        return {"hello": name}
```

See docs/http.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from framework.http.binding import Body, Cookie, Header, Query
from framework.http.builtin_middleware import (
    AccessLogMiddleware,
    CORSMiddleware,
    GZipMiddleware,
    RequestIdMiddleware,
    current_request_id,
)
from framework.http.errors import (
    DuplicateExceptionHandlerError,
    FieldError,
    HTTPException,
    RequestValidationError,
)
from framework.http.extension import HttpExtension
from framework.http.forms import FormData, UploadFile
from framework.http.headers import Headers, MutableHeaders
from framework.http.marks import (
    RouteDeclarationError,
    controller,
    delete,
    exception_handler,
    get,
    middleware,
    patch,
    post,
    put,
    request_mapping,
)
from framework.http.middleware import CallNext, Middleware, MiddlewareError
from framework.http.request import Request
from framework.http.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from framework.http.routing import DuplicateRouteError, RouteError, RouteNotFoundError, Router

if TYPE_CHECKING:
    from framework.application import Application
    from framework.http.asgi import ASGIApp

__all__ = [
    "AccessLogMiddleware",
    "Body",
    "CORSMiddleware",
    "CallNext",
    "Cookie",
    "DuplicateExceptionHandlerError",
    "DuplicateRouteError",
    "FieldError",
    "FileResponse",
    "FormData",
    "GZipMiddleware",
    "HTMLResponse",
    "HTTPException",
    "Header",
    "Headers",
    "HttpExtension",
    "JSONResponse",
    "Middleware",
    "MiddlewareError",
    "MutableHeaders",
    "PlainTextResponse",
    "Query",
    "RedirectResponse",
    "Request",
    "RequestIdMiddleware",
    "RequestValidationError",
    "Response",
    "RouteDeclarationError",
    "RouteError",
    "RouteNotFoundError",
    "Router",
    "StreamingResponse",
    "UploadFile",
    "asgi_app",
    "controller",
    "current_request_id",
    "delete",
    "exception_handler",
    "get",
    "middleware",
    "patch",
    "post",
    "put",
    "request_mapping",
    "url_for",
]


def asgi_app(app: Application) -> ASGIApp:
    """The ASGI application serving ``app``'s controllers (give it to any ASGI server).

    Raises:
        FrameworkError: ``app`` was booted without :class:`HttpExtension`.
    """
    return app.extension(HttpExtension).asgi


def url_for(app: Application, name: str, /, **params: object) -> str:
    """The path of the route named ``name`` (default ``"Class.method"``) with ``params``.

    Raises:
        RouteNotFoundError: no route has this name.
        ValueError: a parameter is missing or does not fit its converter.
    """
    return app.extension(HttpExtension).router.url_for(name, **params)
