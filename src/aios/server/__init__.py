"""The HTTP server: a FastAPI app assembled from one router module per concern."""

from aios.server.app import ROUTER_MODULES, Services, create_app

__all__ = ["ROUTER_MODULES", "Services", "create_app"]
