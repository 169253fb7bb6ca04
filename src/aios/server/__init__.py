"""The HTTP server: a FastAPI app assembled from one router module per concern.

`create_app(settings)` builds the REST API (OpenAPI at /docs), the dashboard pages, the event
stream, Prometheus /metrics and /healthz; its lifespan opens one runtime for the process.
`aios serve` runs it on Uvicorn.
"""

from aios.server.app import ROUTER_MODULES, Services, create_app
from aios.server.cookies import CookiePolicy
from aios.server.hub import EventHub, Message
from aios.server.worker import SERVER_REQUESTER, RunWorker

__all__ = ["ROUTER_MODULES", "SERVER_REQUESTER", "CookiePolicy", "EventHub", "Message",
           "RunWorker", "Services", "create_app"]
