"""Users and roles: who may read (viewer), decide approvals (approver) or manage users (admin).

Passwords are hashed with argon2id (`argon2-cffi`, its default parameters); a user may have
no password and sign in with API tokens only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from aios.errors import AuthenticationError, ConfigError, ConflictError, NotFoundError
from aios.extras import import_extra
from aios.store import columns as col
from aios.store.engine import Store
from aios.store.tables import metadata

__all__ = ["Role", "User", "UserStore", "users"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")

users = Table(
    "users",
    metadata,
    col.string("id", 32, primary_key=True),
    col.string("name", 100, unique=True),
    col.string("role", 16),
    col.text("password_hash", null=True),
    col.boolean("disabled", default=False),
    col.timestamp("created_at"),
)


class Role(StrEnum):
    """What a user may do; each role includes the ones below it."""

    viewer = "viewer"  #: read requests and the audit log
    approver = "approver"  #: also approve and reject requests
    admin = "admin"  #: also manage users and tokens

    @property
    def rank(self) -> int:
        """0 for viewer, 1 for approver, 2 for admin."""
        return ["viewer", "approver", "admin"].index(self.value)

    def allows(self, needed: Role) -> bool:
        """True when this role includes `needed`."""
        return self.rank >= needed.rank


@dataclass(frozen=True)
class User:
    """An authenticated identity: what decisions and audit records are attributed to."""

    id: str
    name: str
    role: Role
    disabled: bool = False
    created_at: datetime | None = None
    has_password: bool = False


def _hasher() -> Any:
    return import_extra("argon2", "password hashing needs argon2-cffi: "
                                  "pip install 'aios[approvals]'").PasswordHasher()


def _user(row: Any) -> User:
    return User(id=row["id"], name=row["name"], role=Role(row["role"]),
                disabled=bool(row["disabled"]), created_at=row["created_at"],
                has_password=row["password_hash"] is not None)


class UserStore:
    """Reads and writes users in the store.

    Attributes:
        listeners: called with a user's name after this store changed or deleted that user
            (a `TokenStore` forgets the keys it cached for them).
    """

    def __init__(self, store: Store):
        self.store = store
        self.listeners: list[Callable[[str], None]] = []

    def _changed(self, name: str) -> None:
        for listener in self.listeners:
            listener(name)

    async def add(self, name: str, role: Role | str, *, password: str | None = None) -> User:
        """Create a user.

        Raises:
            ConfigError: the name or role is not valid.
            ConflictError: a user of that name exists.
        """
        if not _NAME.match(name):
            raise ConfigError(f"user name {name!r} is not valid: use letters, digits, and "
                              "_ . @ - (up to 100 characters), starting with a letter or digit")
        try:
            role = Role(role)
        except ValueError:
            raise ConfigError(f"role {role!r} is not one of viewer, approver, admin") from None
        password_hash = _hasher().hash(password) if password else None
        user_id = uuid.uuid4().hex
        try:
            async with self.store.engine.begin() as conn:
                await conn.execute(insert(users).values(
                    id=user_id, name=name, role=role.value, password_hash=password_hash,
                    disabled=False, created_at=datetime.now(UTC)))
        except IntegrityError:
            raise ConflictError(f"user {name!r} exists; `aios users list` shows every user"
                                ) from None
        return await self.get(name)

    async def get(self, name: str) -> User:
        """The user called `name`.

        Raises:
            NotFoundError: there is none.
        """
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.name == name))
                   ).mappings().first()
        if row is None:
            raise NotFoundError(f"no user {name!r}; add one with `aios users add {name} "
                                "--role approver`")
        return _user(row)

    async def get_by_id(self, user_id: str) -> User:
        """The user with id `user_id` (NotFoundError if none)."""
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))
                   ).mappings().first()
        if row is None:
            raise NotFoundError(f"no user with id {user_id!r}")
        return _user(row)

    async def list(self) -> list[User]:
        """Every user, by name."""
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(users).order_by(users.c.name))).mappings().all()
        return [_user(row) for row in rows]

    async def update(self, name: str, *, role: Role | str | None = None,
                     disabled: bool | None = None, password: str | None = None) -> User:
        """Change a user's role, password or disabled flag."""
        await self.get(name)
        values: dict[str, Any] = {}
        if role is not None:
            try:
                values["role"] = Role(role).value
            except ValueError:
                raise ConfigError(f"role {role!r} is not one of viewer, approver, admin"
                                  ) from None
        if disabled is not None:
            values["disabled"] = disabled
        if password is not None:
            values["password_hash"] = _hasher().hash(password)
        if values:
            async with self.store.engine.begin() as conn:
                await conn.execute(update(users).where(users.c.name == name).values(**values))
            self._changed(name)
        return await self.get(name)

    async def delete(self, name: str) -> User:
        """Remove a user and every token of theirs, at once.

        Their past decisions stay: approval decisions and audit records name the user, and
        the audit chain is never rewritten. The name can be given to a new user later.

        Raises:
            NotFoundError: there is none.
        """
        from aios.auth.tokens import api_tokens  # tokens import this module

        user = await self.get(name)
        async with self.store.engine.begin() as conn:
            await conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user.id))
            await conn.execute(delete(users).where(users.c.id == user.id))
        self._changed(name)
        return user

    async def check_password(self, name: str, password: str) -> User:
        """The user, when `password` is theirs.

        Raises:
            AuthenticationError: unknown user, no password set, wrong password, or disabled
                (one message for all, so it does not reveal which names exist).
        """
        hasher = _hasher()
        from argon2.exceptions import VerificationError

        denied = AuthenticationError(f"wrong user name or password for {name!r}")
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.name == name))
                   ).mappings().first()
        if row is None or row["password_hash"] is None or row["disabled"]:
            raise denied
        try:
            hasher.verify(row["password_hash"], password)
        except VerificationError:
            raise denied from None
        return _user(row)
