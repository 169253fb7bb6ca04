"""Migration 0022: a store made before key policies keeps its tokens and ledger rows; they
work afterwards as keys without a policy, and the migration downgrades."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import aios.store.engine as store_engine
from aios.auth import KeyPolicy, TokenStore, api_tokens, hash_token, users
from aios.llm.ledger import CostLedger, llm_calls
from aios.store import Store
from aios.store.engine import normalise_url


def _migrate(*targets: str, down: bool = False) -> Any:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location",
                               str(Path(store_engine.__file__).parent / "migrations"))
        config.attributes["connection"] = connection
        for target in targets:
            (command.downgrade if down else command.upgrade)(config, target)

    return run


def _columns(connection: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns(table)}


async def test_upgrading_and_downgrading_a_store_from_before_key_policies(tmp_path: Path) -> None:
    url = normalise_url(f"sqlite:///{tmp_path / 'old.db'}")
    secret = f"aios_0123456789ab_{uuid.uuid4().hex}"
    now = datetime(2030, 1, 1, tzinfo=UTC)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate("0021_approval_channels", "0002_gateway"))
            await conn.execute(insert(users).values(
                id="u1", name="alice", role="viewer", password_hash=None, disabled=False,
                created_at=now))
            await conn.execute(text(
                "INSERT INTO api_tokens (id, user_id, label, token_hash, created_at) "
                "VALUES ('0123456789ab', 'u1', 'old', :hash, :at)"),
                {"hash": hash_token(secret), "at": now})
            await conn.execute(text(
                "INSERT INTO llm_calls (at, model, model_id, provider, status, cost_usd, "
                "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
                "reasoning_tokens, counted, cached, stream) VALUES (:at, 'm', 'm', 'openai', "
                "'ok', 0.5, 1, 1, 0, 0, 0, 0, 0, 0)"), {"at": now})
            assert "api_key" not in await conn.run_sync(_columns, "llm_calls")
    finally:
        await engine.dispose()

    store = await Store.open(url)  # migrates to the heads, 0022 included
    try:
        user, info = await TokenStore(store).verify(secret)
        assert user.name == "alice" and info.policy == KeyPolicy()
        async with store.engine.connect() as conn:
            row = (await conn.execute(select(llm_calls.c.api_key, llm_calls.c.cost_usd))).one()
        assert tuple(row) == (None, 0.5)
        ledger = CostLedger(store)
        assert await ledger.by_key() == {}  # calls made with no key belong to none
        await ledger.close()
        new = await TokenStore(store).issue("alice", policy=KeyPolicy(rpm=3, models=("m",)))
        assert (await TokenStore(store).verify(new.secret))[1].policy.rpm == 3
    finally:
        await store.close()

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate("0021_approval_channels", down=True))
            assert "rpm" not in await conn.run_sync(_columns, "api_tokens")
            assert "api_key" not in await conn.run_sync(_columns, "llm_calls")
            tokens = (await conn.execute(select(api_tokens.c.id))).scalars().all()
        assert sorted(tokens) == sorted(["0123456789ab", new.info.id])
    finally:
        await engine.dispose()
