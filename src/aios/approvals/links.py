"""One-click links: signed, single-use, expiring, one per approver and request.

A link only OPENS the request's decision page, after the approver has signed in; it never
decides anything on a GET, so the decision itself still goes through the form (CSRF token,
separation of duties, distinct approvers, the two-person rule). A link names its user: used by
someone else it is refused, and so is a link whose signature does not match (tampered), whose
time has passed (expired), or that was used before (single use, a conditional UPDATE).

Token: `base64url(JSON {l: link id, r: request id, u: user, e: expiry}) "." base64url(HMAC)`,
HMAC-SHA256 keyed with `approvals.links.secret_env` (default `AIOS_LINK_SECRET`) or, when
that variable is unset, a random key created once in the store.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Index, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from aios.approvals.audit import AuditLog
from aios.approvals.channels.spec import LinkPolicy
from aios.approvals.requests import ApprovalRequest
from aios.auth.users import User
from aios.errors import ConflictError, PermissionDenied
from aios.store import columns as col
from aios.store.engine import Store
from aios.store.runs import utcnow
from aios.store.tables import metadata

__all__ = ["LinkClaim", "LinkSigner", "approval_links", "approval_secrets"]

approval_links = Table(
    "approval_links",
    metadata,
    col.string("id", 32, primary_key=True),
    col.string("request_id", 32),
    col.string("user_name", 100),
    col.timestamp("created_at"),
    col.timestamp("expires_at"),
    col.timestamp("used_at", null=True),
    Index("ix_approval_links_request", "request_id"),
)

approval_secrets = Table(
    "approval_secrets",
    metadata,
    col.string("name", 100, primary_key=True),
    col.text("value"),
    col.timestamp("created_at"),
)

_KEY_NAME = "link_key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LinkClaim:
    """What a valid link says: which request, for whom, until when."""

    link_id: str
    request_id: str
    user: str
    expires_at: datetime


class LinkSigner:
    """Issues and redeems one-click links over one store.

    Args:
        store: where links and (without the environment variable) the key are kept.
        policy: `approvals.links` (base URL, lifetime, key variable).
        env: the environment holding the key variable (default: the process's).
        clock: the current time (UTC).
    """

    def __init__(self, store: Store, policy: LinkPolicy | None = None, *,
                 env: Mapping[str, str] | None = None,
                 clock: Callable[[], datetime] = utcnow):
        self.store = store
        self.policy = policy or LinkPolicy()
        self.env = os.environ if env is None else env
        self.clock = clock
        self.audit = AuditLog(store)
        self._key: bytes | None = None

    async def key(self) -> bytes:
        """The signing key: from the environment, else the store's (created once)."""
        if self._key is not None:
            return self._key
        given = self.env.get(self.policy.secret_env)
        if given:
            self._key = given.encode("utf-8")
            return self._key
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(approval_secrets.c.value).where(
                approval_secrets.c.name == _KEY_NAME))).first()
        if row is None:
            with contextlib.suppress(IntegrityError):  # another process made it first
                async with self.store.engine.begin() as conn:
                    await conn.execute(insert(approval_secrets).values(
                        name=_KEY_NAME, value=secrets.token_hex(32), created_at=self.clock()))
            async with self.store.engine.connect() as conn:
                row = (await conn.execute(select(approval_secrets.c.value).where(
                    approval_secrets.c.name == _KEY_NAME))).first()
        assert row is not None
        self._key = str(row[0]).encode("utf-8")
        return self._key

    async def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(await self.key(), payload, hashlib.sha256).digest())

    async def issue(self, req: ApprovalRequest, user: str) -> str:
        """A new link for `user` to open `req`'s decision page (the full URL)."""
        now = self.clock()
        expires = now + timedelta(seconds=self.policy.lifetime)
        if req.deadline is not None:  # no use after the request's own deadline
            expires = min(expires, max(req.deadline, now + timedelta(minutes=5)))
        link_id = uuid.uuid4().hex
        async with self.store.engine.begin() as conn:
            await conn.execute(insert(approval_links).values(
                id=link_id, request_id=req.id, user_name=user, created_at=now,
                expires_at=expires, used_at=None))
        payload = json.dumps({"l": link_id, "r": req.id, "u": user,
                              "e": int(expires.timestamp())},
                             separators=(",", ":"), sort_keys=True).encode("utf-8")
        token = f"{_b64(payload)}.{await self._sign(payload)}"
        return f"{self.policy.base_url}/approvals/link/{token}"

    async def _refuse(self, user: User, why: str, request_id: str | None) -> PermissionDenied:
        await self.audit.record("link.refused", actor=user.name, request_id=request_id,
                                data={"reason": why})
        return PermissionDenied(f"this approval link cannot be used: {why}")

    async def redeem(self, token: str, user: User) -> LinkClaim:
        """Check `token` for the signed-in `user` and use it up.

        Returns:
            The claim; its request's decision page is where the link leads.

        Raises:
            PermissionDenied: tampered or malformed, expired, or issued to another user.
            ConflictError: used before.
        """
        body, _, signature = token.partition(".")
        try:
            payload = _unb64(body)
            expected = await self._sign(payload)
            valid = hmac.compare_digest(expected, signature)
            data: dict[str, Any] = json.loads(payload) if valid else {}
            claim = LinkClaim(str(data["l"]), str(data["r"]), str(data["u"]),
                              datetime.fromtimestamp(int(data["e"]), UTC)) if valid else None
        except (binascii.Error, ValueError, KeyError, TypeError):
            claim = None
        if claim is None:
            raise await self._refuse(user, "its signature does not match (altered or "
                                     "incomplete); open the request from the queue instead",
                                     None)
        now = self.clock()
        if claim.expires_at <= now:
            raise await self._refuse(user, f"it expired at {claim.expires_at:%Y-%m-%d %H:%M} "
                                     "UTC; open the request from the queue instead",
                                     claim.request_id)
        if claim.user != user.name:
            raise await self._refuse(user, f"it was sent to {claim.user}, and you are signed "
                                     f"in as {user.name}; each approver gets a link of their "
                                     "own", claim.request_id)
        async with self.store.engine.begin() as conn:
            used = await conn.execute(update(approval_links).where(
                approval_links.c.id == claim.link_id,
                approval_links.c.request_id == claim.request_id,
                approval_links.c.user_name == user.name,
                approval_links.c.used_at.is_(None)).values(used_at=now))
            if used.rowcount != 1:
                await self.audit.append(conn, "link.refused", actor=user.name,
                                        request_id=claim.request_id,
                                        data={"reason": "used before"})
            else:
                await self.audit.append(conn, "link.used", actor=user.name,
                                        request_id=claim.request_id,
                                        data={"link": claim.link_id})
        if used.rowcount != 1:
            raise ConflictError("this approval link was used already (each link works once); "
                                f"open the request from the queue: /approvals/"
                                f"{claim.request_id}")
        return claim
