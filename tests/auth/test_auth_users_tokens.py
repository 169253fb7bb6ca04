"""Users (argon2 passwords, roles) and API tokens (hashed, expiring, revocable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from aios.auth import Role, TokenStore, UserStore, api_tokens, hash_token, users
from aios.errors import AuthenticationError, ConfigError, ConflictError, NotFoundError
from aios.store import Store


async def test_users_have_roles_and_unique_names(store: Store) -> None:
    repo = UserStore(store)
    alice = await repo.add("alice", "approver")
    assert alice.role is Role.approver and not alice.has_password
    with pytest.raises(ConflictError, match="exists"):
        await repo.add("alice", Role.viewer)
    with pytest.raises(ConfigError, match="viewer, approver, admin"):
        await repo.add("bob", "superuser")
    with pytest.raises(ConfigError, match="not valid"):
        await repo.add("bad name!", Role.viewer)
    assert [u.name for u in await repo.list()] == ["alice"]
    assert (await repo.update("alice", role=Role.admin)).role is Role.admin
    assert Role.admin.allows(Role.approver) and not Role.viewer.allows(Role.approver)


async def test_passwords_are_stored_as_argon2_hashes(store: Store) -> None:
    repo = UserStore(store)
    await repo.add("alice", Role.approver, password="correct horse")
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(users.c.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert (await repo.check_password("alice", "correct horse")).name == "alice"
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        await repo.check_password("alice", "wrong")
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        await repo.check_password("nobody", "x")


async def test_tokens_authenticate_and_only_their_hash_is_stored(store: Store) -> None:
    await UserStore(store).add("alice", Role.approver)
    repo = TokenStore(store)
    issued = await repo.issue("alice", expires_in=3600, label="laptop")
    assert issued.secret.startswith(f"aios_{issued.info.id}_")
    assert (await repo.authenticate(issued.secret)).name == "alice"
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(api_tokens))).mappings().one()
    assert row["token_hash"] == hash_token(issued.secret)
    assert issued.secret not in str(dict(row))
    with pytest.raises(NotFoundError):
        await repo.issue("nobody")


async def test_expired_token_is_refused_with_a_way_out(store: Store) -> None:
    await UserStore(store).add("alice", Role.approver)
    repo = TokenStore(store)
    issued = await repo.issue("alice", expires_in=60)
    later = datetime.now(UTC) + timedelta(minutes=2)
    with pytest.raises(AuthenticationError, match=r"expired.*aios users token alice"):
        await repo.authenticate(issued.secret, now=later)


async def test_revoked_token_is_refused_at_once(store: Store) -> None:
    await UserStore(store).add("alice", Role.approver)
    repo = TokenStore(store)
    issued = await repo.issue("alice")  # no expiry
    info = await repo.revoke(issued.info.id)
    assert info.revoked_at is not None and info.state(datetime.now(UTC)) == "revoked"
    with pytest.raises(AuthenticationError, match="revoked"):
        await repo.authenticate(issued.secret)
    with pytest.raises(NotFoundError):
        await repo.revoke("feedbeef")


async def test_missing_unknown_and_disabled_credentials_are_refused(store: Store) -> None:
    await UserStore(store).add("alice", Role.approver)
    repo = TokenStore(store)
    with pytest.raises(AuthenticationError, match="AIOS_TOKEN"):
        await repo.authenticate(None)
    with pytest.raises(AuthenticationError, match="not known"):
        await repo.authenticate("aios_0000_nope")
    issued = await repo.issue("alice")
    await UserStore(store).update("alice", disabled=True)
    with pytest.raises(AuthenticationError, match="disabled"):
        await repo.authenticate(issued.secret)
    with pytest.raises(ConfigError, match="positive"):
        await repo.issue("alice", expires_in=0)
