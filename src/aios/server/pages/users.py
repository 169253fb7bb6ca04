"""The users page, for admins: who can sign in, with forms to disable, enable and delete.

Changes go through the same `UserStore` as `aios users` and `PATCH /api/users/{name}`: a
disabled user's tokens and sessions stop working at the next request they make, and their
past decisions stay in the audit trail.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from aios.auth.users import Role
from aios.errors import AiosError, ConflictError
from aios.server.auth import ServicesDep
from aios.server.pages.render import render
from aios.server.sessions import Session, form_session, page_session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

AdminPage = Annotated[Session, Depends(page_session(Role.admin))]
AdminForm = Annotated[Session, Depends(form_session(Role.admin))]

#: What each form sets `disabled` to; None deletes the user.
_ACTIONS: dict[str, bool | None] = {"disable": True, "enable": False, "delete": None}


def _back(*, notice: str = "", error: str = "") -> RedirectResponse:
    query = f"?notice={quote(notice)}" if notice else f"?error={quote(error)}" if error else ""
    return RedirectResponse("/users" + query, status_code=303)


@router.get("/users")
async def users_page(request: Request, services: ServicesDep, session: AdminPage) -> Response:
    """Every user with their role and state; forms to disable, enable or delete."""
    return render(request, "users.html", session, title="Users",
                  users=await services.users.list())


@router.post("/users/{name}/{action}")
async def change_user(name: str, action: str, services: ServicesDep, session: AdminForm,
                      confirm: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Disable, enable or delete a user (delete asks for the name to be typed again)."""
    if action not in _ACTIONS:
        return _back(error=f"unknown action {action!r}")
    try:
        if name == session.user.name and action != "enable":
            raise ConflictError(f"you may not {action} your own account here (it would lock "
                                "you out); another admin can")
        disabled = _ACTIONS[action]
        if disabled is None:
            if confirm != name:
                return _back(error=f"type the name {name!r} to confirm deleting it")
            await services.users.delete(name)
        else:
            await services.users.update(name, disabled=disabled)
    except AiosError as exc:
        return _back(error=str(exc))
    return _back(notice=f"{name}: {action}d")
