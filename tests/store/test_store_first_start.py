"""Creating the store: atomic, safe when several processes start at once, and a half-created
store (left by a kill, or by an older version) is recovered by the next start.

The kill test is bounded: a fixed list of instants after `aios.db` appears, one subprocess
each. No test asserts a time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from aios.store import RunStore, Store
from aios.store.tables import metadata

_OPEN = """
import asyncio, sys
from aios.store import Store, RunStore

async def main():
    store = await Store.open(sys.argv[1])
    try:
        await RunStore(store).count_runs()
    finally:
        await store.close()

asyncio.run(main())
print("opened")
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)  # the aios these tests import
    return env


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _works(url: str) -> int:
    store = await Store.open(url)
    try:
        runs = RunStore(store)
        await runs.create_run("r1", kind="action", target="a.b", forensic=False,
                              manifest_name="m", manifest_path=None, manifest_digest="d",
                              options={})
        await runs.finish_run("r1", "succeeded")
        return await runs.count_runs()
    finally:
        await store.close()


def _kill_after_file_appears(db: Path, delay: float) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _OPEN, _url(db)], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not db.exists() and proc.poll() is None:
            time.sleep(0.0005)
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15])
def test_a_kill_at_any_instant_of_the_first_start_leaves_a_usable_store(
        tmp_path: Path, delay: float) -> None:
    db = tmp_path / "home" / "aios.db"
    _kill_after_file_appears(db, delay)
    assert asyncio.run(_works(_url(db))) == 1


def test_two_processes_creating_one_store_at_once_both_succeed(tmp_path: Path) -> None:
    db = tmp_path / "home" / "aios.db"
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN, _url(db)], env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "opened" in out
    assert asyncio.run(_works(_url(db))) == 1


def test_a_half_created_store_is_recovered(tmp_path: Path) -> None:
    # What older versions left after a kill: some tables, no (or an empty) alembic_version.
    db = tmp_path / "aios.db"
    engine = create_engine(f"sqlite:///{db}")
    runs_table = metadata.tables["runs"]
    with engine.begin() as conn:
        runs_table.create(conn)
        metadata.tables["step_events"].create(conn)
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
    engine.dispose()
    assert asyncio.run(_works(_url(db))) == 1
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert "approval_requests" in inspect(conn).get_table_names()
    engine.dispose()


def test_a_half_created_store_that_holds_data_is_not_dropped(tmp_path: Path) -> None:
    db = tmp_path / "aios.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        metadata.tables["runs"].create(conn)
        conn.execute(text("INSERT INTO runs (id, kind, target, status, forensic, "
                          "manifest_name, manifest_digest, options, created_at) VALUES "
                          "('x', 'action', 'a.b', 'running', 0, 'm', 'd', '{}', "
                          "'2026-01-01 00:00:00')"))
    engine.dispose()
    from aios.errors import StoreError

    with pytest.raises(StoreError, match="not created completely"):
        asyncio.run(_works(_url(db)))
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == 1
    engine.dispose()


@pytest.mark.postgres
def test_postgresql_first_use_by_several_processes_waits_instead_of_failing(
        postgres_url: str) -> None:
    import asyncpg  # noqa: F401  (the postgres extra)

    async def fresh() -> str:
        import uuid

        import asyncpg as pg

        name = f"aios_first_{uuid.uuid4().hex[:8]}"
        conn = await pg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return postgres_url.rsplit("/", 1)[0] + "/" + name

    url = asyncio.run(fresh())
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN, url], env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "opened" in out


def test_the_heads_read_from_the_migration_files_are_alembics_heads():
    # The start-up check reads `revision`/`down_revision` itself (no Alembic import); it must
    # agree with Alembic's own graph, or a store would be migrated at every start, or never.
    from alembic.script import ScriptDirectory

    from aios.store.creation import _config, schema_heads

    assert schema_heads() == frozenset(ScriptDirectory.from_config(_config()).get_heads())


def test_opening_a_current_store_does_not_import_alembic(tmp_path):
    import subprocess
    import sys

    probe = (
        "import asyncio, sys\n"
        "from aios.store.engine import Store\n"
        "async def main(url):\n"
        "    store = await Store.open(url)\n"
        "    await store.close()\n"
        f"url = 'sqlite+aiosqlite:///{tmp_path / 'a.db'}'\n"
        "asyncio.run(main(url))\n"
        "print('alembic' in sys.modules)\n")
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=True).stdout.split()[-1] for _ in range(2)]
    assert runs == ["True", "False"]  # created on the first start; only checked on the second
