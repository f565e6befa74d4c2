"""Business logic, between the handlers (WebSocket and HTTP) and the Gateway."""
