"""Module ``/echo`` with the raw parser: every frame comes back as it was sent (text as text,
binary as binary). Try it with ``python -m websockets ws://127.0.0.1:{{port}}/echo``."""

from framework.websocket import on_message, ws_module


@ws_module("/echo", parser="raw")
class EchoModule:
    @on_message
    def echo(self, frame: str | bytes) -> str | bytes:
        return frame
