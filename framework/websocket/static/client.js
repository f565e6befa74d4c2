/*
 * Swoop WebSocket client: plain JavaScript, no build step. Served at /_swoop/client.js.
 *
 *   <script src="/_swoop/client.js"></script>
 *   const client = new SwoopClient("/chat/lobby");          // or a full ws:// URL
 *   client.on("chat.message", (data) => console.log(data));  // pushes {"cmd", "data"}
 *   const reply = await client.send("chat.send", {text: "hi"}); // resolved by the reply
 *
 * Messages are Swoop's JSON protocol: {"cmd", "data", "ext": {"id"}}. send() puts a request
 * id in ext.id; the reply with the same id resolves the promise, an error reply rejects it
 * with a SwoopError (code, message, errors), and no answer within `timeout` ms rejects it
 * with code 408. Server pings ({"cmd": "ping"}) are answered with {"cmd": "pong"}.
 * After an unexpected close, it reconnects with exponential backoff and jitter.
 * State events: "connecting", "open", "close" ({code, reason}), "reconnecting" ({attempt,
 * delay}), "error"; on("*", fn) sees every message.
 */
(function (global) {
  "use strict";

  class SwoopError extends Error {
    constructor(code, message, cmd, errors) {
      super(message);
      this.name = "SwoopError";
      this.code = code;
      this.cmd = cmd;
      this.errors = errors || [];
    }
  }

  const STATE_EVENTS = ["connecting", "open", "close", "closed", "reconnecting", "error"];

  function resolveUrl(url) {
    if (/^wss?:\/\//.test(url)) return url;
    const loc = global.location;
    const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + loc.host + (url.startsWith("/") ? url : "/" + url);
  }

  class SwoopClient {
    constructor(url, options) {
      const o = options || {};
      this.url = resolveUrl(url);
      this.timeout = o.timeout !== undefined ? o.timeout : 10000;
      this.reconnect = o.reconnect !== undefined ? o.reconnect : true;
      this.minDelay = o.minDelay !== undefined ? o.minDelay : 500;
      this.maxDelay = o.maxDelay !== undefined ? o.maxDelay : 30000;
      this.protocols = o.protocols;
      this.state = "closed";
      this.attempt = 0;
      this._nextId = 1;
      this._pending = new Map();
      this._handlers = new Map();
      this._closedByUser = false;
      this._timer = null;
      this.ws = null;
      if (o.connect !== false) this.connect();
    }

    connect() {
      this._closedByUser = false;
      if (this.ws && (this.state === "open" || this.state === "connecting")) return this;
      clearTimeout(this._timer);
      this._setState("connecting");
      const ws = this.protocols ? new WebSocket(this.url, this.protocols) : new WebSocket(this.url);
      this.ws = ws;
      ws.onopen = () => {
        this.attempt = 0;
        this._setState("open");
      };
      ws.onmessage = (event) => this._received(event.data);
      ws.onerror = () => this._emit("error", {url: this.url});
      ws.onclose = (event) => this._closed(ws, event.code, event.reason);
      return this;
    }

    close(code, reason) {
      this._closedByUser = true;
      clearTimeout(this._timer);
      if (this.ws) this.ws.close(code || 1000, reason || "");
    }

    send(cmd, data, options) {
      const o = options || {};
      const id = this._nextId++;
      const timeout = o.timeout !== undefined ? o.timeout : this.timeout;
      return new Promise((resolve, reject) => {
        if (!this.ws || this.state !== "open") {
          reject(new SwoopError(503, "not connected", cmd));
          return;
        }
        const timer = timeout > 0 ? setTimeout(() => {
          this._pending.delete(id);
          reject(new SwoopError(408, "no reply within " + timeout + " ms", cmd));
        }, timeout) : null;
        this._pending.set(id, {resolve, reject, timer, cmd});
        this.ws.send(JSON.stringify({cmd: cmd, data: data === undefined ? null : data, ext: {id: id}}));
      });
    }

    emit(cmd, data) {
      if (!this.ws || this.state !== "open") return false;
      this.ws.send(JSON.stringify({cmd: cmd, data: data === undefined ? null : data}));
      return true;
    }

    on(cmd, fn) {
      if (!this._handlers.has(cmd)) this._handlers.set(cmd, new Set());
      this._handlers.get(cmd).add(fn);
      return this;
    }

    once(cmd, fn) {
      const wrapper = (data, message) => {
        this.off(cmd, wrapper);
        fn(data, message);
      };
      wrapper.original = fn;
      return this.on(cmd, wrapper);
    }

    off(cmd, fn) {
      const set = this._handlers.get(cmd);
      if (!set) return this;
      if (fn === undefined) {
        set.clear();
        return this;
      }
      for (const handler of set) {
        if (handler === fn || handler.original === fn) set.delete(handler);
      }
      return this;
    }

    _setState(state, detail) {
      this.state = state;
      this._emit(state, detail);
    }

    _emit(cmd, data, message) {
      const set = this._handlers.get(cmd);
      if (set) {
        for (const fn of Array.from(set)) {
          try {
            fn(data, message);
          } catch (err) {
            setTimeout(() => { throw err; });
          }
        }
      }
      if (!STATE_EVENTS.includes(cmd)) {
        const all = this._handlers.get("*");
        if (all) for (const fn of Array.from(all)) fn(data, message);
      }
    }

    _received(raw) {
      let message;
      try {
        message = JSON.parse(raw);
      } catch (err) {
        this._emit("error", {raw: raw});
        return;
      }
      if (!message || typeof message !== "object") return;
      if (message.cmd === "ping") {
        this.ws.send('{"cmd":"pong"}');
        return;
      }
      const id = message.ext && message.ext.id;
      if (id !== undefined && this._pending.has(id)) {
        const pending = this._pending.get(id);
        this._pending.delete(id);
        clearTimeout(pending.timer);
        if (message.error) {
          const e = message.error;
          pending.reject(new SwoopError(e.code, e.message, message.cmd, e.errors));
        } else {
          pending.resolve(message.data);
        }
        return;
      }
      if (message.error) {
        this._emit("error", message.error, message);
        return;
      }
      this._emit(message.cmd, message.data, message);
    }

    _closed(ws, code, reason) {
      if (ws !== this.ws) return;
      this.ws = null;
      for (const [id, pending] of this._pending) {
        clearTimeout(pending.timer);
        pending.reject(new SwoopError(499, "connection closed before the reply", pending.cmd));
        this._pending.delete(id);
      }
      this._setState("closed");
      this._emit("close", {code: code, reason: reason});
      if (this._closedByUser || !this.reconnect || code === 1008 || code === 1009) return;
      const base = Math.min(this.maxDelay, this.minDelay * Math.pow(2, this.attempt));
      const delay = Math.round(base / 2 + Math.random() * base / 2);
      this.attempt += 1;
      this._emit("reconnecting", {attempt: this.attempt, delay: delay});
      this._timer = setTimeout(() => this.connect(), delay);
    }
  }

  SwoopClient.SwoopError = SwoopError;
  global.SwoopClient = SwoopClient;
  global.SwoopError = SwoopError;
  if (typeof module !== "undefined" && module.exports) module.exports = {SwoopClient, SwoopError};
})(typeof window !== "undefined" ? window : globalThis);
