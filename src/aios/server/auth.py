"""Authentication for the HTTP API: `Authorization: Bearer <token>` and role checks.

Viewers may read, approvers decide, admins manage users. Handlers declare what they need
with the `Viewer`, `Approver` and `Admin` parameter types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aios.auth.users import Role, User
from aios.errors import PermissionDenied
from aios.server.app import Services

__all__ = ["Admin", "Approver", "ServicesDep", "Viewer", "current_user", "get_services",
           "require"]

_bearer = HTTPBearer(auto_error=False, description="An API token: `aios users token NAME`.")


def get_services(request: Request) -> Services:
    """The app's services (built in its lifespan)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def current_user(services: ServicesDep,
                       credentials: Annotated[HTTPAuthorizationCredentials | None,
                                              Security(_bearer)] = None) -> User:
    """The user the bearer token belongs to (401 when missing, unknown, expired, revoked)."""
    return await services.tokens.authenticate(credentials.credentials if credentials else None)


def require(role: Role) -> Callable[..., Awaitable[User]]:
    """A dependency admitting users whose role includes `role` (403 otherwise)."""

    async def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.role.allows(role):
            raise PermissionDenied(f"{user.name} is a {user.role.value}; this needs the "
                                   f"{role.value} role (an admin can grant it)")
        return user

    return check


Viewer = Annotated[User, Depends(require(Role.viewer))]
Approver = Annotated[User, Depends(require(Role.approver))]
Admin = Annotated[User, Depends(require(Role.admin))]
