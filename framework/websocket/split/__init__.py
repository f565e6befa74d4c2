"""The gateway/business split of a ``ws`` server (``ws.split = true``; GatewayWorker's model).

Gateway processes hold the WebSockets and run the protection (heartbeat, size, rate,
origin, connection limit) without importing the application; business workers run the
application and are what ``appctl ws:reload`` replaces, so a reload loads new code while
every WebSocket stays open. They talk over one Unix socket per gateway:

- :mod:`.protocol`: the link's packets (sans-IO);
- :mod:`.link`: one end of a link (bounded queues);
- :mod:`.gateway`: :class:`~.gateway.GatewayApp`, the gateway's ASGI app, and
  :mod:`.links`: the business workers linked to it;
- :mod:`.business`: :class:`~.business.BusinessNode`, what a business worker serves, and
  :mod:`.uplink`: its link to one gateway;
- :mod:`.connection`: :class:`~.connection.LinkedConnection`, a gateway's client as
  handlers see it; :mod:`.bus`: :class:`~.bus.LinkedBus`, the Gateway API over the links;
- :mod:`.http`: HTTP requests forwarded from a gateway to a business worker.

See docs/scale-out.md ("Gateway/business split").
"""
