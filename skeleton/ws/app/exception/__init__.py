"""Exception handlers: one place turns the service's errors into replies (HTTP and WebSocket)."""
