"""Application settings: the key `app` (see docs/config.md)."""

from framework.config import env

name = "{{name}}"
debug = env("APP_DEBUG", False, type=bool)
packages = ["app"]
extensions = ["framework.http:HttpExtension", "framework.websocket:WebSocketExtension"]
