"""Server settings: the key `server`, read by appctl; its command-line flags win.

See docs/cli.md for every key. SWOOP_SERVER__<KEY> variables override these values.
"""

host = "0.0.0.0"
port = 18306
# workers = 4               # default: the number of CPUs
engine = "hypercorn"        # or "uvicorn" (pip install 'swoop-framework[fast]')
graceful_timeout = 10.0     # seconds in-flight requests get on stop and reload
access_log = True           # daemon: runtime/logs/http.access.log; foreground: stdout
