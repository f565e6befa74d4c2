"""WebSocket settings: the key `ws` (docs/websocket.md lists every key and its default)."""

max_message_size = 64 * 1024  # bytes; a bigger frame closes the connection with 1009
max_connections = 10_000  # per worker; more are accepted and closed with 1013
allowed_origins: list[str] = []  # browser origins, e.g. ["https://chat.example.com"]; empty: any
ping_interval = 25.0  # seconds of silence before the server pings; client.js answers
ping_max_missed = 2  # unanswered pings before closing with 1011
rate_limit = 20.0  # messages per second per connection; beyond, closes with 1008
rate_burst = 40.0  # messages a connection may send at once
close_timeout = 5.0  # seconds a client gets to answer a close (stop, reload)
# split = True  # gateways hold the WebSockets, workers run the app: reloads keep clients
