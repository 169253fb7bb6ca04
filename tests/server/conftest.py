"""Fixtures of the server tests: the app on a real store, with users of each role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_helpers import add_people, write_manifest

from aios.server import create_app
from aios.settings import Settings


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where the manifest, its marker file and its flaky file live."""
    return tmp_path / "work"


@pytest.fixture
def manifest_path(workdir: Path) -> Path:
    return write_manifest(workdir)


@pytest.fixture
def tokens(settings: Settings) -> dict[str, str]:
    """ada (admin), alice and bob (approvers), vic (viewer): name -> API token."""
    return add_people(settings)


@pytest.fixture
def client(settings: Settings, manifest_path: Path,
           tokens: dict[str, str]) -> Iterator[TestClient]:
    """The app with its lifespan running (runtime, resume loop every 0.1 s)."""
    app = create_app(settings, manifest=manifest_path, resume_interval=0.1,
                     expiry_interval=0)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def pg_settings(postgres_url: str, tmp_path: Path) -> Settings:
    """Settings on the session's PostgreSQL database, emptied first (skipped without one)."""
    import asyncio

    from sqlalchemy import text

    from aios.store import Store
    from aios.store.tables import metadata

    async def empty() -> None:
        store = await Store.open(postgres_url)
        try:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            async with store.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        finally:
            await store.close()

    asyncio.run(empty())
    return Settings(home=tmp_path / "home", database_url=postgres_url)
