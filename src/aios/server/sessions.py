"""Dashboard sessions: log in with a password (or an API token), an HttpOnly cookie holding
a session token.

Logging in issues an ordinary API token (label `dashboard`, limited lifetime) and stores it in
the `aios_session` cookie (see `aios.server.cookies`), so a session is revoked, expires and
is listed exactly like any token (`aios users tokens`).

Page handlers declare what they need with `page_session(role)`; state-changing forms use
`form_session(role)`, which also checks the form's CSRF token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aios.auth.tokens import IssuedToken
from aios.auth.users import Role, User
from aios.errors import AuthenticationError, PermissionDenied
from aios.server.app import Services
from aios.server.auth import ServicesDep
from aios.server.csrf import csrf_token, submitted_token, verify

__all__ = ["LOGIN_CSRF_COOKIE", "SESSION_COOKIE", "Session", "any_user", "close_session",
           "form_session", "open_session", "open_token_session", "page_session",
           "read_session"]

SESSION_COOKIE = "aios_session"
LOGIN_CSRF_COOKIE = "aios_login_csrf"

_bearer = HTTPBearer(auto_error=False, description="An API token: `aios users token NAME`.")


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the user and the token its cookie holds."""

    user: User
    token: str

    @property
    def csrf(self) -> str:
        """The CSRF token forms of this session must carry."""
        return csrf_token(self.token)


async def open_session(services: Services, name: str, password: str,
                       lifetime: int) -> IssuedToken:
    """Check `name`'s password and issue the session's token.

    Raises:
        AuthenticationError: wrong name or password, or a disabled user.
    """
    user = await services.users.check_password(name, password)
    return await services.tokens.issue(user.name, expires_in=lifetime, label="dashboard")


async def open_token_session(services: Services, token: str, lifetime: int) -> IssuedToken:
    """Check an API token and issue a session token of its user (so that logging out
    revokes the session, not the API token).

    Raises:
        AuthenticationError: an unknown, expired or revoked token, or a disabled user.
    """
    user = await services.tokens.authenticate(token)
    return await services.tokens.issue(user.name, expires_in=lifetime, label="dashboard")


async def close_session(services: Services, session: Session) -> None:
    """Revoke the session's token: the cookie stops working at once, everywhere."""
    await services.tokens.revoke(session.token)


async def read_session(request: Request, services: Services) -> Session | None:
    """The session of the request's cookie, or None (absent, expired, revoked)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        user = await services.tokens.authenticate(token)
    except AuthenticationError:
        return None
    return Session(user, token)


def _allowed(user: User, role: Role) -> User:
    if not user.role.allows(role):
        raise PermissionDenied(f"{user.name} is a {user.role.value}; this needs the "
                               f"{role.value} role (an admin can grant it)")
    return user


def page_session(role: Role) -> Callable[..., Awaitable[Session]]:
    """A dependency for dashboard pages: the signed-in session (log-in page otherwise)."""

    async def check(request: Request, services: ServicesDep) -> Session:
        request.state.page = True  # errors answer with a page (or a redirect to log in)
        # Before the page reads the store: its live updates replay what happens from here.
        request.state.events_after = services.hub.last_id
        session = await read_session(request, services)
        if session is None:
            raise AuthenticationError("log in to see this page")
        _allowed(session.user, role)
        return session

    return check


def form_session(role: Role) -> Callable[..., Awaitable[Session]]:
    """`page_session` for state-changing forms: also checks the form's CSRF token."""
    signed_in = page_session(role)

    async def check(request: Request, services: ServicesDep) -> Session:
        session = await signed_in(request, services)
        verify(await submitted_token(request), session.csrf)
        return session

    return check


async def any_user(request: Request, services: ServicesDep,
                   credentials: Annotated[HTTPAuthorizationCredentials | None,
                                          Depends(_bearer)] = None) -> User:
    """A viewer authenticated by a bearer token or by the dashboard's session cookie.

    For read-only routes shared by scripts and pages (the event stream).
    """
    if credentials is not None:
        return _allowed(await services.tokens.authenticate(credentials.credentials),
                        Role.viewer)
    session = await read_session(request, services)
    if session is None:
        raise AuthenticationError("this needs an API token (`Authorization: Bearer TOKEN`; an "
                                  "admin creates one with `aios users token NAME`) or a "
                                  "dashboard session (log in at /login)")
    return _allowed(session.user, Role.viewer)
