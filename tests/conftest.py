"""Shared fixtures: settings in a temporary home, real SQLite and PostgreSQL stores."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from aios.settings import Settings
from aios.store import RunStore, Store

PG_ENV = "AIOS_TEST_DATABASE_URL"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose home (and SQLite store) is a fresh temporary directory."""
    return Settings(home=tmp_path / "home", database_url=None)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Commands and Settings() built inside tests must never touch the user's ~/.aios.
    monkeypatch.setenv("AIOS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIOS_DATABASE_URL", raising=False)
    monkeypatch.delenv("AIOS_FORENSIC", raising=False)


async def _admin(url: str, sql: str) -> None:
    import asyncpg  # the postgres extra

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (skipped without a server)."""
    admin = os.environ.get(PG_ENV)
    if not admin:
        pytest.skip(f"PostgreSQL tests need a server: set {PG_ENV}="
                    "postgresql://postgres@127.0.0.1:5432/postgres (.ci/run does)")
    name = f"aios_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a real store: SQLite in a temp dir, and PostgreSQL when available."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store' / 'aios.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """An opened, migrated store on each backend; PostgreSQL tables are emptied first."""
    opened = await Store.open(store_url)
    if opened.dialect == "postgresql":
        from aios.store.tables import metadata

        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        async with opened.engine.begin() as conn:
            from sqlalchemy import text

            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield opened
    await opened.close()


@pytest.fixture
async def runs(store: Store) -> AsyncIterator[RunStore]:
    """A RunStore on `store`, its writer flushed and stopped at the end."""
    repo = RunStore(store)
    yield repo
    await repo.writer.close()
