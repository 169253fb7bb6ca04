"""REST API of users and tokens: sign in with a password; admins manage users and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aios.approvals.policy import duration_seconds
from aios.auth.keys import check_models, parse_models
from aios.auth.keyupdate import update_key
from aios.auth.tokens import IssuedToken, TokenInfo
from aios.auth.users import Role, User
from aios.errors import ConflictError
from aios.server.auth import Admin, ServicesDep, Viewer

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["users"])


class UserOut(BaseModel):
    """A user (never a password hash)."""

    name: str
    role: Role
    disabled: bool
    has_password: bool


class TokenOut(BaseModel):
    """A token as listed; `token` is present only when it was just created."""

    id: str
    user: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    token: str | None = Field(None, description="The secret, shown once.")
    policy: dict[str, Any] = Field(default_factory=dict,
                                   description="The key's limits, budget, models and tenant.")


class LoginBody(BaseModel):
    """Exchange a password for an API token."""

    model_config = ConfigDict(extra="forbid")

    name: str
    password: str
    expires: str | float = Field("12h", description="Lifetime: seconds or 30m, 12h, 30d.")
    label: str = "login"


class NewUser(BaseModel):
    """A user to create."""

    model_config = ConfigDict(extra="forbid")

    name: str
    role: Role = Role.viewer
    password: str | None = None


class UserChange(BaseModel):
    """What to change about a user; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = Field(None, description="True: their tokens and sessions stop "
                                                    "working at once.")
    password: str | None = Field(None, min_length=1, max_length=1000)


class NewToken(BaseModel):
    """A token to issue."""

    model_config = ConfigDict(extra="forbid")

    expires: str | float | None = Field("30d", description="Lifetime; null: until revoked.")
    label: str = ""


class KeyChange(BaseModel):
    """What to change about a key (`aios keys update`); a field set to null is removed, one
    left out is kept."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = None
    tpm: int | None = None
    budget_usd: float | None = None
    budget_period: Literal["total", "day", "month"] | None = None
    models: list[str] | None = None
    tenant: str | None = None
    expires: str | float | None = Field(None, description="A new lifetime from now (30d); "
                                                          "null: until revoked.")


def _user(user: User) -> UserOut:
    return UserOut(name=user.name, role=user.role, disabled=user.disabled,
                   has_password=user.has_password)


def _token(info: TokenInfo, secret: str | None = None) -> TokenOut:
    return TokenOut(id=info.id, user=info.user, label=info.label, created_at=info.created_at,
                    expires_at=info.expires_at, revoked_at=info.revoked_at, token=secret,
                    policy=info.policy.json())


def _issued(issued: IssuedToken) -> TokenOut:
    return _token(issued.info, issued.secret)


@router.post("/auth/token", response_model=TokenOut, tags=["auth"],
             summary="Sign in with a password")
async def login(body: LoginBody, services: ServicesDep) -> TokenOut:
    """A new API token for a user whose password matches (401 otherwise)."""
    user = await services.users.check_password(body.name, body.password)
    return _issued(await services.tokens.issue(
        user.name, expires_in=duration_seconds(body.expires, option="expires"), label=body.label))


@router.get("/me", response_model=UserOut, tags=["auth"], summary="Who am I")
async def me(user: Viewer) -> UserOut:
    """The user the token belongs to."""
    return _user(user)


@router.get("/users", response_model=list[UserOut], summary="List users")
async def list_users(services: ServicesDep, _admin: Admin) -> list[UserOut]:
    """Every user, by name."""
    return [_user(u) for u in await services.users.list()]


@router.post("/users", response_model=UserOut, status_code=201, summary="Add a user")
async def add_user(body: NewUser, services: ServicesDep, _admin: Admin) -> UserOut:
    """Create a user (409 if the name is taken)."""
    return _user(await services.users.add(body.name, body.role, password=body.password))


def _not_yourself(name: str, admin: User, what: str) -> None:
    if name == admin.name:
        raise ConflictError(f"{admin.name} may not {what} their own account here (it would "
                            "lock them out); another admin can, or `aios users` on the host")


@router.patch("/users/{name}", response_model=UserOut, summary="Change a user")
async def change_user(name: str, body: UserChange, services: ServicesDep,
                      admin: Admin) -> UserOut:
    """Change a user's role or password, or disable / enable them.

    A disabled user's tokens and dashboard sessions stop working at once; their past
    decisions stay in the audit trail.
    """
    if body.disabled:
        _not_yourself(name, admin, "disable")
    return _user(await services.users.update(name, role=body.role, disabled=body.disabled,
                                             password=body.password))


@router.delete("/users/{name}", response_model=UserOut, summary="Delete a user")
async def delete_user(name: str, services: ServicesDep, admin: Admin) -> UserOut:
    """Delete a user and every token of theirs; their decisions stay in the audit trail."""
    _not_yourself(name, admin, "delete")
    return _user(await services.users.delete(name))


@router.post("/users/{name}/tokens", response_model=TokenOut, status_code=201,
             summary="Issue a token")
async def issue_token(name: str, body: NewToken, services: ServicesDep,
                      _admin: Admin) -> TokenOut:
    """A new API token for `name`; its secret is in the answer, once."""
    expires = (None if body.expires is None
               else duration_seconds(body.expires, option="expires"))
    return _issued(await services.tokens.issue(name, expires_in=expires, label=body.label))


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke a token")
async def revoke_token(token_id: str, services: ServicesDep, _admin: Admin) -> TokenOut:
    """Revoke a token by id; it stops working at once."""
    return _token(await services.tokens.revoke(token_id))


@router.patch("/tokens/{token_id}", response_model=TokenOut, summary="Change a key's policy")
async def change_token(token_id: str, body: KeyChange, services: ServicesDep,
                       _admin: Admin) -> TokenOut:
    """Change a key's limits, budget, models, tenant or expiry; the next request with it is
    served under the new policy."""
    given = body.model_fields_set
    changes = {name: getattr(body, name) for name in given if name != "expires"}
    if changes.get("models") is not None:
        changes["models"] = parse_models(",".join(changes["models"])) or ()
        check_models(changes["models"], services.manifest.models, source="the manifest")
    expires_in: float | Literal["keep", "never"] = "keep"
    if "expires" in given:
        expires_in = "never" if body.expires is None else \
            duration_seconds(body.expires, option="expires")
    _, after = await update_key(services.tokens, token_id, changes, expires_in=expires_in)
    return _token(after)
