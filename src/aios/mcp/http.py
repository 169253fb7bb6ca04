"""`aios mcp serve --http`: streamable HTTP behind the API tokens.

Every HTTP request must carry `Authorization: Bearer <API token>` (`aios users token NAME`);
a missing, unknown, expired or revoked token is answered 401 before the MCP layer sees the
request. The token's user is the caller of the tool calls in that request, so the approval
requests they cause name that user, who therefore cannot approve them.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from aios.auth.tokens import TokenStore
from aios.errors import AuthenticationError, ConfigError
from aios.mcp.server import ActionServer

__all__ = ["USER_SCOPE_KEY", "BearerAuth", "http_app", "parse_bind", "serve_http"]

#: Where the authenticated user's name travels in the ASGI scope.
USER_SCOPE_KEY = "aios.user"
PATH = "/mcp"


class BearerAuth:
    """ASGI middleware: authenticate every HTTP request by its bearer API token."""

    def __init__(self, app: ASGIApp, tokens: TokenStore):
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        try:
            user = await self.tokens.authenticate(token if scheme.lower() == "bearer" else None)
        except AuthenticationError as exc:
            response = JSONResponse({"error": "unauthorized", "detail": str(exc)},
                                    status_code=401,
                                    headers={"WWW-Authenticate": 'Bearer realm="aios"'})
            await response(scope, receive, send)
            return
        scope[USER_SCOPE_KEY] = user.name
        await self.app(scope, receive, send)


class _Endpoint:
    """The session manager as an ASGI endpoint (a Route that is not a function)."""

    def __init__(self, manager: StreamableHTTPSessionManager):
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.manager.handle_request(scope, receive, send)


def _requester(ctx: Any) -> str:
    request = getattr(ctx, "request", None)
    user = request.scope.get(USER_SCOPE_KEY) if request is not None else None
    if not user:  # the middleware sets it on every request; this is a wiring error
        raise AuthenticationError("no authenticated user on this request")
    return str(user)


def http_app(server: ActionServer, tokens: TokenStore) -> Starlette:
    """The ASGI app: `POST/GET/DELETE /mcp`, bearer tokens required."""
    manager = StreamableHTTPSessionManager(app=server.mcp_server(_requester), stateless=False)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    app = Starlette(routes=[Route(PATH, endpoint=_Endpoint(manager),
                                  methods=["GET", "POST", "DELETE"])], lifespan=lifespan)
    app.add_middleware(BearerAuth, tokens=tokens)
    return app


def parse_bind(value: str) -> tuple[str, int]:
    """`HOST:PORT` (port 0: any free port).

    Raises:
        ConfigError: not HOST:PORT with a port from 0 to 65535.
    """
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"--http {value!r} is not HOST:PORT; for example --http "
                          "127.0.0.1:8765 (port 0 picks a free one)")
    return host.strip("[]"), int(port)


async def serve_http(server: ActionServer, tokens: TokenStore, host: str, port: int) -> None:
    """Serve until cancelled; prints the URL (with the port actually bound) to stderr."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another "
                          "--http HOST:PORT") from exc
    bound = sock.getsockname()[1]
    # Listen before the URL is printed: a client that reads it and connects at once is then
    # queued in the backlog until Uvicorn accepts, instead of refused.
    sock.listen(socket.SOMAXCONN)
    config = uvicorn.Config(http_app(server, tokens), log_level="warning", lifespan="on")
    where = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"aios mcp: {len(server.tools)} tools on http://{where}:{bound}{PATH} "
          "(Authorization: Bearer <API token>)", file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])
