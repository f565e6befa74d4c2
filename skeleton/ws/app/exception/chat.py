"""The chat service's errors as replies: a JSON body with the error's status over HTTP, an
error reply ``{"cmd", "error": {"code", "message"}}`` over WebSocket."""

from framework import bean
from framework.http import JSONResponse, exception_handler

from app.service.chat import ChatError


@bean
class ChatErrors:
    @exception_handler(ChatError)
    def chat_error(self, exc: ChatError) -> JSONResponse:
        return JSONResponse({"code": exc.status, "message": str(exc)}, status_code=exc.status)
