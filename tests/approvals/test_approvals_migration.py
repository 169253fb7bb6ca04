"""Migration 0017: a store made before withdrawals keeps its requests, and afterwards a
withdrawn request no longer blocks its call while a live one still does."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from approval_helpers import proposal, requirement
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

import aios.store.engine as store_engine
from aios.approvals import ApprovalService
from aios.approvals.requests import approval_requests, new_request_id
from aios.store import Store
from aios.store.engine import normalise_url

PG_ENV = "AIOS_TEST_DATABASE_URL"


def _migrate(target: str, *, down: bool = False) -> Any:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location",
                               str(Path(store_engine.__file__).parent / "migrations"))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, target)

    return run


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database (never migrated)."""
    if request.param == "sqlite":
        yield normalise_url(f"sqlite:///{tmp_path / 'old.db'}")
        return
    admin = os.environ.get(PG_ENV)
    if not admin:
        pytest.skip(f"PostgreSQL tests need a server: set {PG_ENV}")
    name = f"aios_mig_{uuid.uuid4().hex[:10]}"
    await _admin(admin, f'CREATE DATABASE "{name}"')
    yield normalise_url(f"{admin.rsplit('/', 1)[0]}/{name}")
    await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _row(request_id: str, **overrides: Any) -> dict[str, Any]:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    row: dict[str, Any] = dict(
        id=request_id, run_id="run1", step_id="step1", action="storage.wipe",
        args={"path": "/tmp/x"}, args_hash="a" * 64, approved_args=None, approved_hash=None,
        executed_hash=None, reason="disk full", risks=[], confidence=None, criticality="high",
        priority=2, requester="ops", required_approvals=1,
        route=[{"group": "approvers", "roles": ["approver", "admin"], "users": [],
                "deadline": None}],
        stage=0, deadline=None, input_schema={}, status="pending", version=1, outcome=None,
        created_at=now, updated_at=now, decided_at=None, consumed_at=None)
    row.update(overrides)
    return row


async def test_upgrading_a_store_from_before_withdrawals(fresh_url: str) -> None:
    engine = create_async_engine(fresh_url)
    old = new_request_id()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate("0006_approvals"))
        async with engine.begin() as conn:
            await conn.execute(insert(approval_requests).values(**_row(old)))
        with pytest.raises(IntegrityError):  # 0006: one request per call, whatever its state
            async with engine.begin() as conn:
                await conn.execute(insert(approval_requests).values(
                    **_row(new_request_id(), status="withdrawn")))
    finally:
        await engine.dispose()

    store = await Store.open(fresh_url)  # migrates to the heads, 0017 included
    try:
        service = ApprovalService(store)
        kept = await service.get(old)
        assert kept.status == "pending" and kept.args == {"path": "/tmp/x"}
        await service.withdraw_run("run1", actor="ops", reason="run cancelled")
        async with store.engine.begin() as conn:
            await conn.execute(insert(approval_requests).values(**_row(new_request_id())))
        with pytest.raises(IntegrityError):  # still one live request per call
            async with store.engine.begin() as conn:
                await conn.execute(insert(approval_requests).values(**_row(new_request_id())))
        fresh = await service.submit(proposal(run_id="run2"), requirement("high"))
        assert (await service.get(fresh.id)).status == "pending"
    finally:
        await store.close()


async def test_the_migration_downgrades_when_no_call_has_two_requests(fresh_url: str) -> None:
    store = await Store.open(fresh_url)
    await store.close()
    engine = create_async_engine(fresh_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate("0006_approvals", down=True))
            versions = {r[0] for r in await conn.execute(
                text("SELECT version_num FROM alembic_version"))}
        assert "0006_approvals" in versions and "0017_approvals_withdrawn" not in versions
        async with engine.begin() as conn:
            await conn.execute(insert(approval_requests).values(**_row(new_request_id())))
        with pytest.raises(IntegrityError):  # the old constraint is back
            async with engine.begin() as conn:
                await conn.execute(insert(approval_requests).values(
                    **_row(new_request_id(), status="withdrawn")))
    finally:
        await engine.dispose()
