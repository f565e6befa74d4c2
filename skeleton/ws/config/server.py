"""Server settings: the key `server`, read by appctl; its command-line flags win.

See docs/cli.md for every key. `server.ws.<key>` wins over `server.<key>` for `appctl ws:*`;
SWOOP_SERVER__WS__<KEY> variables override these values.
"""

host = "0.0.0.0"
# `server.port` is the http server's: the WebSocket server reads `server.ws.port`
ws = {"port": 18308}
# One worker keeps the demo small. With several (--workers N, or remove this line for one per
# CPU), the master hosts a hub that spans them: rooms, presence and pushes work across workers
# (docs/scale-out.md). Several hosts share Redis: set ws.bus = "redis://..." in config/ws.py.
workers = 1
engine = "hypercorn"  # or "uvicorn" (pip install 'swoop-framework[fast]')
graceful_timeout = 10.0  # seconds in-flight requests get on stop and reload
access_log = True  # daemon: runtime/logs/ws.access.log; foreground: stdout
