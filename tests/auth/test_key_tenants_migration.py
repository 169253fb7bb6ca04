"""Migration 0023: a store made before key tenants keeps its keys and their policies; they act
for no tenant afterwards, can be given one, and the migration downgrades."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import aios.store.engine as store_engine
from aios.auth import KeyPolicy, TokenStore, api_tokens, hash_token, users
from aios.store import Store
from aios.store.engine import normalise_url


def _migrate(target: str, *, down: bool = False) -> Any:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location",
                               str(Path(store_engine.__file__).parent / "migrations"))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, target)

    return run


def _columns(connection: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns(table)}


async def test_upgrading_and_downgrading_a_store_from_before_key_tenants(tmp_path: Path) -> None:
    url = normalise_url(f"sqlite:///{tmp_path / 'old.db'}")
    secret = f"aios_0123456789ab_{uuid.uuid4().hex}"
    now = datetime(2030, 1, 1, tzinfo=UTC)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate("heads"))
            await conn.run_sync(_migrate("0022_keys_limits", down=True))
            assert "tenant" not in await conn.run_sync(_columns, "api_tokens")
            await conn.execute(users.insert().values(
                id="u1", name="alice", role="viewer", password_hash=None, disabled=False,
                created_at=now))
            await conn.execute(text(
                "INSERT INTO api_tokens (id, user_id, label, token_hash, created_at, rpm, "
                "budget_usd, budget_period, models) VALUES ('0123456789ab', 'u1', 'old', "
                ":hash, :at, 7, 2.5, 'day', :models)"),
                {"hash": hash_token(secret), "at": now, "models": '["m"]'})
    finally:
        await engine.dispose()

    store = await Store.open(url)  # migrates to the heads, 0023 included
    try:
        tokens = TokenStore(store)
        user, info = await tokens.verify(secret)
        assert user.name == "alice"
        assert info.policy == KeyPolicy(rpm=7, budget_usd=2.5, budget_period="day",
                                        models=("m",))
        assert info.policy.tenant is None
        changed = await tokens.update(info.id, policy=KeyPolicy(rpm=7, tenant="acme"),
                                      expires_at=None)
        assert changed.policy.tenant == "acme"
        assert (await tokens.verify(secret))[1].policy.tenant == "acme"
    finally:
        await store.close()

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate("0022_keys_limits", down=True))
            assert "tenant" not in await conn.run_sync(_columns, "api_tokens")
            row = (await conn.execute(select(api_tokens.c.id, api_tokens.c.rpm)
                                      .where(api_tokens.c.id == "0123456789ab"))).one()
        assert tuple(row) == ("0123456789ab", 7)
    finally:
        await engine.dispose()
