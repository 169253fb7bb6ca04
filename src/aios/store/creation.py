"""Creating and upgrading the store's schema: atomic, serialised, and self-repairing.

Three things made a first start fragile, and each has its answer here:

* SQLite's Python driver commits before every DDL statement, so a process killed while
  migrating left some tables and no recorded revision, and every later start failed with
  "table runs already exists". The migration now runs in ONE explicit `BEGIN IMMEDIATE`
  transaction: a kill rolls all of it back.
* Two processes starting on a fresh home both created the same tables. On SQLite an
  exclusive `flock` on `<database>.lock` serialises the migration (the write lock of
  `BEGIN IMMEDIATE` alone would give up after the busy timeout); on PostgreSQL a
  transaction-scoped advisory lock does. The second process then finds the schema current.
* A store left half-created by an older version (tables but no revision) is recognised:
  when none of its tables holds a row it is emptied and created afresh; when some hold data
  the start stops with a message saying what to do, and nothing is dropped.

A store already at the current revision is recognised without taking any lock, and without
importing Alembic: the heads are read from the migration files' `revision` and
`down_revision` assignments (a test checks them against Alembic's own reading). Alembic, a
quarter of a command's start-up, is imported only when there is something to migrate.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from aios.errors import StoreError

try:  # POSIX; elsewhere `BEGIN IMMEDIATE` and the busy timeout serialise creation
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["ADVISORY_LOCK_KEY", "migrate_store", "schema_heads"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_VERSION_TABLE = "alembic_version"

#: The PostgreSQL advisory lock key held while the schema is created or upgraded.
ADVISORY_LOCK_KEY = 0x41696F53  # "AioS"


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _assigned(path: Path) -> dict[str, Any]:
    """The literal module-level assignments of a migration file (`revision`, ...)."""
    out: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            with contextlib.suppress(ValueError):
                out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


@functools.cache
def schema_heads() -> frozenset[str]:
    """The revisions a current store records (the revisions no other revision revises)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        assigned = _assigned(path)
        if "revision" not in assigned:
            continue
        revisions.add(str(assigned["revision"]))
        down = assigned.get("down_revision")
        revised.update([down] if isinstance(down, str) else list(down or ()))
    return frozenset(revisions - revised)


def _recorded(connection: Connection) -> frozenset[str] | None:
    """The revisions the store records; None when it has no version table."""
    if not inspect(connection).has_table(_VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars()
    return frozenset(str(r) for r in rows)


def _quoted(connection: Connection, name: str) -> str:
    return str(connection.dialect.identifier_preparer.quote(name))


def _repair_half_created(connection: Connection, where: str) -> None:
    """Empty a store whose creation never finished; refuse if it holds data."""
    recorded = _recorded(connection)
    tables = [t for t in inspect(connection).get_table_names() if t != _VERSION_TABLE]
    if recorded or not tables:
        return  # a store at some revision (upgraded normally), or a fresh one
    holding = [t for t in tables if connection.execute(
        text(f"SELECT 1 FROM {_quoted(connection, t)} LIMIT 1")).first() is not None]
    if holding:
        raise StoreError(
            f"the store at {where} was not created completely (it has tables but no schema "
            f"revision) and {len(holding)} of its tables hold data ({', '.join(holding[:5])}); "
            "nothing was changed. Move the file aside (or point AIOS_DATABASE_URL / AIOS_HOME "
            "elsewhere) to start a new store, then copy back what you need")
    cascade = " CASCADE" if connection.dialect.name == "postgresql" else ""
    for table in [*tables, _VERSION_TABLE]:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_quoted(connection, table)}{cascade}")


def _migrate(connection: Connection, where: str) -> None:
    """Bring the schema to the heads inside the caller's transaction on `connection`."""
    if _recorded(connection) == schema_heads():
        return  # another process finished it while this one waited for the lock
    _repair_half_created(connection, where)
    from alembic import command

    command.upgrade(_config(connection), "heads")  # one branch per subsystem


def _migrate_sqlite(connection: Connection, where: str) -> None:
    """The whole migration in one `BEGIN IMMEDIATE` transaction (DDL included)."""
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    previous = dbapi.isolation_level
    dbapi.isolation_level = None  # the driver would COMMIT before each DDL statement
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            _migrate(connection, where)
        except BaseException:
            connection.exec_driver_sql("ROLLBACK")
            raise
        connection.exec_driver_sql("COMMIT")
    finally:
        dbapi.isolation_level = previous


def _migrate_locked(connection: Connection, where: str) -> None:
    """The migration under PostgreSQL's advisory lock (released at commit or rollback)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": ADVISORY_LOCK_KEY})
    _migrate(connection, where)


@contextlib.asynccontextmanager
async def _file_lock(database: str | None) -> AsyncIterator[None]:
    """An exclusive lock on `<database>.lock` (SQLite files on POSIX; else no-op)."""
    if fcntl is None or not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


async def _current(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        recorded = await conn.run_sync(_recorded)
    return recorded == schema_heads()


async def migrate_store(engine: AsyncEngine, database: str | None) -> None:
    """Create or upgrade the schema of the store behind `engine`, atomically.

    Args:
        engine: the store's engine (SQLite or PostgreSQL).
        database: the SQLite file (its lock file sits next to it); ignored otherwise.

    Raises:
        StoreError: a half-created store holds data (nothing is changed).
        sqlalchemy.exc.SQLAlchemyError: the database refused (the caller words it).
    """
    if await _current(engine):
        return
    where = database if engine.dialect.name == "sqlite" and database else engine.dialect.name
    if engine.dialect.name == "sqlite":
        async with _file_lock(database), engine.connect() as conn:
            await conn.run_sync(_migrate_sqlite, where)
        return
    async with engine.begin() as conn:
        await conn.run_sync(_migrate_locked, where)
