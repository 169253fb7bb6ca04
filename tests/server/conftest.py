"""Fixtures of the server tests: the app on a real store, with users of each role."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
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


@pytest.fixture
def live(settings: Settings, manifest_path: Path, tokens: dict[str, str]) -> Iterator[str]:
    """A Uvicorn server on a free port of 127.0.0.1, in a thread; its base URL. It resumes
    runs and watches the store for other processes' runs every 0.1 s."""
    app = create_app(settings, manifest=manifest_path, resume_interval=0.1, expiry_interval=0,
                     watch_interval=0.1)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)
