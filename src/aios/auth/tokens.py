"""API tokens: bearer credentials for the CLI (`--token`, AIOS_TOKEN) and the REST API.

A token is `aios_<id>_<secret>` with 256 random bits of secret. Only its SHA-256 is stored: for
a high-entropy secret a fast hash is enough (nothing to brute-force), and lookup by hash needs
no scan. The `<id>` part names the token in listings and in `aios users revoke ID`.

A `TokenStore` made with `cache_s > 0` (the server: `AIOS_KEY_CACHE_SECONDS`) remembers each
token it verified for that many seconds, so a busy key is looked up once per period instead
of on every request. Expiry is still checked on every use; a revocation, a key's policy changed
(`update`), or a user disabled, deleted or given another role, through this store (and its
`users`) applies at once; one made elsewhere (`aios keys revoke` or `aios keys update` or
`aios users disable` from the CLI, another server process) applies within `cache_s` seconds.
Unknown tokens are never cached.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, Table, insert, select, update

from aios.auth.keys import KeyPolicy
from aios.auth.users import User, UserStore, users
from aios.errors import AuthenticationError, ConfigError, ConflictError, NotFoundError
from aios.store import columns as col
from aios.store.engine import Store
from aios.store.tables import metadata

__all__ = ["MAX_LIFETIME", "IssuedToken", "TokenInfo", "TokenStore", "api_tokens", "hash_token"]

_PREFIX = "aios_"

#: The longest lifetime a token can be given: 100 years, in seconds (past it, dates overflow).
MAX_LIFETIME = 100 * 365 * 86400.0

api_tokens = Table(
    "api_tokens",
    metadata,
    col.string("id", 16, primary_key=True),
    col.string("user_id", 32, index=True),
    col.string("label", 200, default=""),
    col.string("token_hash", 64, unique=True),
    col.timestamp("created_at"),
    col.timestamp("expires_at", null=True),
    col.timestamp("revoked_at", null=True),
    # The key's own policy (`aios keys create`); NULL: none (see `aios.auth.keys`).
    col.integer("rpm", null=True),
    col.integer("tpm", null=True),
    col.number("budget_usd", null=True),
    col.string("budget_period", 8, null=True),
    col.json("models", null=True),
    col.string("tenant", 200, null=True),
)


def hash_token(token: str) -> str:
    """The stored form of a token: the SHA-256 of its text."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _with_user() -> Select[Any]:
    """Token rows joined to their user, whose name is the column `user_name`."""
    return (select(api_tokens, users.c.name.label("user_name"))
            .join(users, users.c.id == api_tokens.c.user_id))


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never its secret."""

    id: str
    user: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    policy: KeyPolicy = field(default_factory=KeyPolicy)

    def state(self, now: datetime) -> str:
        """`active`, `expired` or `revoked` at `now`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `secret` is shown once and cannot be recovered later."""

    info: TokenInfo
    secret: str


class TokenStore:
    """Issues, revokes and checks API tokens."""

    def __init__(self, store: Store, *, cache_s: float = 0.0, cache_size: int = 10_000):
        if not cache_s >= 0:
            raise ConfigError(f"the key cache's lifetime must be 0 (off) or more seconds, got "
                              f"{cache_s!r} (AIOS_KEY_CACHE_SECONDS)")
        self.store = store
        self.users = UserStore(store)
        self.users.listeners.append(self._forget_user)
        self.cache_s = cache_s
        self._cache_size = cache_size
        #: token hash -> (when verified, monotonic seconds; user; token), oldest first
        self._cache: OrderedDict[str, tuple[float, User, TokenInfo]] = OrderedDict()

    def _forget_user(self, name: str) -> None:
        """Drop the cached keys of user `name` (changed or deleted through `self.users`)."""
        for digest in [d for d, (_, user, _) in self._cache.items() if user.name == name]:
            del self._cache[digest]

    async def issue(self, user_name: str, *, expires_in: float | None = None,
                    label: str = "", policy: KeyPolicy | None = None,
                    now: datetime | None = None) -> IssuedToken:
        """A new token for `user_name`, valid for `expires_in` seconds (None: until revoked),
        with the key's own `policy` (limits, budget, models) when given.

        Raises:
            NotFoundError: no such user.
            ConfigError: `expires_in` is not positive.
        """
        if expires_in is not None and not 0 < expires_in <= MAX_LIFETIME:
            raise ConfigError(f"token lifetime must be positive and at most "
                              f"{MAX_LIFETIME // 86400:.0f} days, got {expires_in:g} s; for "
                              "example --expires 30d (or no expiry: --expires never)")
        user = await self.users.get(user_name)
        now = now or datetime.now(UTC)
        token_id = secrets.token_hex(6)
        secret = f"{_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        expires = now + timedelta(seconds=expires_in) if expires_in is not None else None
        policy = policy or KeyPolicy()
        async with self.store.engine.begin() as conn:
            await conn.execute(insert(api_tokens).values(
                id=token_id, user_id=user.id, label=label, token_hash=hash_token(secret),
                created_at=now, expires_at=expires, revoked_at=None, **policy.columns()))
        return IssuedToken(TokenInfo(token_id, user.name, label, now, expires, None, policy),
                           secret)

    def _forget(self, token_id: str) -> None:
        """Drop the cached entries of key `token_id` (revoked or changed through this store)."""
        for digest in [d for d, (_, _, info) in self._cache.items() if info.id == token_id]:
            del self._cache[digest]

    async def get(self, token_id: str) -> TokenInfo:
        """The token with id `token_id` (the `aios_<id>_` part, or the whole token).

        Raises:
            NotFoundError: no token has that id.
        """
        token_id = token_id.removeprefix(_PREFIX).split("_")[0]
        row = await self._row(api_tokens.c.id == token_id)
        if row is None:
            raise NotFoundError(f"no key with id {token_id!r}; `aios keys list` lists them")
        return self._info(row)

    async def update(self, token_id: str, *, policy: KeyPolicy, expires_at: datetime | None,
                     now: datetime | None = None) -> TokenInfo:
        """Give key `token_id` a new `policy` and expiry (None: until revoked); the change
        applies to the next request this store verifies (its cached entry is dropped).

        Raises:
            NotFoundError: no token has that id.
            ConflictError: the key is revoked (a revoked key stays revoked; make a new one).
            ConfigError: `expires_at` is not after `now`.
        """
        info = await self.get(token_id)
        now = now or datetime.now(UTC)
        if info.revoked_at is not None:
            raise ConflictError(f"key {info.id} of {info.user} was revoked at "
                                f"{_when(info.revoked_at)} and cannot be changed; create a new "
                                f"one with `aios keys create {info.user}`")
        if expires_at is not None and expires_at <= now:
            raise ConfigError(f"the new expiry {_when(expires_at)} is not in the future")
        self._forget(info.id)
        async with self.store.engine.begin() as conn:
            result = await conn.execute(update(api_tokens).where(
                api_tokens.c.id == info.id, api_tokens.c.revoked_at.is_(None)
            ).values(expires_at=expires_at, **policy.columns()))
        if result.rowcount == 0:  # revoked meanwhile
            return await self.update(token_id, policy=policy, expires_at=expires_at, now=now)
        self._forget(info.id)  # a request verified while the row was written
        return await self.get(info.id)

    async def revoke(self, token_id: str, *, now: datetime | None = None) -> TokenInfo:
        """Revoke a token by its id (the `aios_<id>_` part); revoking twice keeps the first time.

        Raises:
            NotFoundError: no token has that id.
        """
        token_id = token_id.removeprefix(_PREFIX).split("_")[0]
        now = now or datetime.now(UTC)
        self._forget(token_id)
        async with self.store.engine.begin() as conn:
            await conn.execute(update(api_tokens).where(
                api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None)
            ).values(revoked_at=now))
        found = [t for t in await self.list() if t.id == token_id]
        if not found:
            raise NotFoundError(f"no token with id {token_id!r}; `aios users tokens` lists them")
        return found[0]

    async def list(self, user_name: str | None = None) -> list[TokenInfo]:
        """Tokens (newest first), of one user or of everyone."""
        query = _with_user().order_by(api_tokens.c.created_at.desc())
        if user_name is not None:
            query = query.where(users.c.name == user_name)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [self._info(row) for row in rows]

    async def _row(self, where: ColumnElement[bool]) -> RowMapping | None:
        """The one token row matching `where`, with its user's name; None if none does."""
        async with self.store.engine.connect() as conn:
            result = await conn.execute(_with_user().where(where))
            row: RowMapping | None = result.mappings().first()
        return row

    @staticmethod
    def _info(row: Any) -> TokenInfo:
        return TokenInfo(row["id"], row["user_name"], row["label"],
                         row["created_at"], row["expires_at"],
                         row["revoked_at"], KeyPolicy.of_row(row))

    async def authenticate(self, token: str | None, *, now: datetime | None = None) -> User:
        """The user a token belongs to.

        Raises:
            AuthenticationError: see `verify`.
        """
        user, _ = await self.verify(token, now=now)
        return user

    async def verify(self, token: str | None, *,
                     now: datetime | None = None) -> tuple[User, TokenInfo]:
        """The user a token belongs to, and the token (its id and policy).

        Raises:
            AuthenticationError: no token, an unknown, expired or revoked one, or a disabled
                user; the message says which and how to get a new token.
        """
        if not token or not token.strip():
            raise AuthenticationError(
                "this needs an API token: pass --token or set AIOS_TOKEN (an admin creates "
                "one with `aios users token NAME`); over HTTP send `Authorization: Bearer TOKEN`")
        now = now or datetime.now(UTC)
        digest = hash_token(token)
        if self.cache_s > 0:
            hit = self._cache.pop(digest, None)  # stale or refused: not kept
            if hit is not None and time.monotonic() - hit[0] < self.cache_s:
                self._check(hit[2], now)
                self._cache[digest] = hit  # back, as the most recently used
                return hit[1], hit[2]
        row = await self._row(api_tokens.c.token_hash == digest)
        if row is None:
            raise AuthenticationError("the API token is not known (mistyped, or from another "
                                      "store?); get a new one with `aios users token NAME`")
        info = self._info(row)
        self._check(info, now)
        user = await self.users.get_by_id(row["user_id"])
        if user.disabled:
            raise AuthenticationError(f"user {user.name} is disabled; an admin can re-enable it")
        if self.cache_s > 0:
            self._cache[digest] = (time.monotonic(), user, info)
            self._cache.move_to_end(digest)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return user, info

    @staticmethod
    def _check(info: TokenInfo, now: datetime) -> None:
        state = info.state(now)
        if state == "revoked" and info.revoked_at is not None:
            raise AuthenticationError(
                f"API token {info.id} of {info.user} was revoked at {_when(info.revoked_at)}; "
                f"get a new one with `aios users token {info.user}`")
        if state == "expired" and info.expires_at is not None:
            raise AuthenticationError(
                f"API token {info.id} of {info.user} expired at {_when(info.expires_at)}; "
                f"get a new one with `aios users token {info.user} --expires 30d`")
