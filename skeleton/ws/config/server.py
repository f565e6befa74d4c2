"""Server settings: the key `server`, read by appctl; its command-line flags win.

See docs/cli.md for every key. `server.ws.<key>` wins over `server.<key>` for `appctl ws:*`;
SWOOP_SERVER__WS__<KEY> variables override these values.
"""

host = "0.0.0.0"
# `server.port` is the http server's: the WebSocket server reads `server.ws.port`
ws = {"port": 18308}
# Rooms are gateway groups, and in this version of Swoop a group lives in one worker: with
# several workers, two people in one room may not see each other. Keep one worker until the
# gateway spans workers (docs/gateway.md, "Why async, and the bus").
workers = 1
engine = "hypercorn"  # or "uvicorn" (pip install 'swoop-framework[fast]')
graceful_timeout = 10.0  # seconds in-flight requests get on stop and reload
access_log = True  # daemon: runtime/logs/ws.access.log; foreground: stdout
