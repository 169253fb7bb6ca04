"""Log in (user name and password, argon2-checked) and log out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aios.auth.users import Role
from aios.errors import AuthenticationError, PermissionDenied
from aios.server.auth import ServicesDep
from aios.server.cookies import clear_cookie, set_cookie
from aios.server.csrf import new_token, verify
from aios.server.pages.render import render, safe_next
from aios.server.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Session,
    close_session,
    form_session,
    open_session,
    open_token_session,
    read_session,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: Seconds the log-in form's token stays valid.
_LOGIN_FORM_SECONDS = 3600


def _login_form(request: Request, services: ServicesDep, *, next_path: str,
                problem: str = "", status: int = 200, name: str = "") -> HTMLResponse:
    token = new_token()
    response = render(request, "login.html", None, status=status, title="Log in",
                      login_csrf=token, next_path=next_path, login_problem=problem,
                      name=name)
    set_cookie(response, request, services.cookies, LOGIN_CSRF_COOKIE, token,
               max_age=_LOGIN_FORM_SECONDS)
    return response


@router.get("/login")
async def login_page(request: Request, services: ServicesDep, next: str = "/") -> Response:
    """The log-in form (straight on to `next` when already signed in)."""
    request.state.page = True
    if await read_session(request, services) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, services, next_path=safe_next(next))


@router.post("/login")
async def login(request: Request, services: ServicesDep,
                name: Annotated[str, Form(max_length=100)] = "",
                password: Annotated[str, Form(max_length=1000)] = "",
                token: Annotated[str, Form(max_length=1000)] = "",
                csrf: Annotated[str, Form(max_length=200)] = "",
                next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    """Check the password (or the API token); on success set the session cookie and go on
    to `next`."""
    request.state.page = True
    target = safe_next(next)
    try:
        verify(csrf, request.cookies.get(LOGIN_CSRF_COOKIE, ""))
    except PermissionDenied as exc:
        return _login_form(request, services, next_path=target, problem=str(exc), status=403,
                           name=name)
    lifetime = services.cookies.max_age
    try:
        issued = (await open_token_session(services, token.strip(), lifetime)
                  if token.strip() and not password
                  else await open_session(services, name, password, lifetime))
    except AuthenticationError as exc:
        return _login_form(request, services, next_path=target, problem=str(exc), status=401,
                           name=name)
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, services.cookies, SESSION_COOKIE, issued.secret)
    clear_cookie(response, request, services.cookies, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, services: ServicesDep,
                 session: Annotated[Session, Depends(form_session(Role.viewer))]) -> Response:
    """Revoke the session's token and forget the cookie."""
    await close_session(services, session)
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(response, request, services.cookies, SESSION_COOKIE)
    return response
