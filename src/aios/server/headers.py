"""Security headers on every response (an ASGI middleware that does not buffer streams).

Pages get a Content-Security-Policy that admits only this server's scripts and styles, so
injected markup cannot run code; a route that serves a self-contained document with inline
script (the knowledge-graph viewer) sets its own, narrower policy, which is kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["DEFAULT_CSP", "SecurityHeaders"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]

#: The dashboard's policy: scripts and styles from this origin only (inline SVG styles allowed).
DEFAULT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; connect-src 'self'; frame-src 'self'; "
               "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")

_FIXED = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
          (b"x-frame-options", b"SAMEORIGIN"))


class SecurityHeaders:
    """Adds nosniff, referrer, framing and CSP headers unless the response set them.

    Args:
        app: the application.
        csp: the default Content-Security-Policy.
        csp_exempt: paths served without a policy (FastAPI's /docs loads Swagger UI from
            a CDN).
    """

    def __init__(self, app: ASGIApp, csp: str = DEFAULT_CSP,
                 csp_exempt: tuple[str, ...] = ("/docs", "/redoc")):
        self.app = app
        self.csp = csp.encode()
        self.csp_exempt = csp_exempt

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        add = _FIXED if scope["path"] in self.csp_exempt else (
            *_FIXED, (b"content-security-policy", self.csp))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in add:
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
