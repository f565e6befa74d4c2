"""WebSocket modules and their controllers: /chat (JSON commands) and /echo (raw frames)."""
