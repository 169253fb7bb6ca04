"""The store's database engine: SQLite (WAL) by default, PostgreSQL by URL, Alembic-migrated.

Creating or upgrading the schema is atomic and serialised (`aios.store.creation`): a process
killed part-way leaves the store as it was, and processes starting together wait for each
other instead of creating the same tables twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aios.errors import StoreError, StoreUnreachable
from aios.store.creation import migrate_store

__all__ = ["Store", "database_error", "normalise_url", "redact_url"]

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
            "postgres": "postgresql+asyncpg"}


def normalise_url(url: str) -> str:
    """Pick the async driver for plain `sqlite:///` and `postgresql://` URLs."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StoreUnreachable(
            f"store URL {url!r} is not a URL; set AIOS_DATABASE_URL to something like "
            "postgresql://user@127.0.0.1:5432/aios or sqlite:////path/aios.db")
    return f"{_DRIVERS.get(scheme, scheme)}://{rest}"


def database_error(exc: BaseException) -> str:
    """What the database said, in one line: SQLAlchemy's message also carries the statement
    and its parameters (row values: results, arguments), which have no place in an error
    shown to a user or written to a log."""
    first = str(exc).splitlines()[0].strip() if str(exc).strip() else ""
    return first or type(exc).__name__


def redact_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _json_dumps(value: Any) -> str:
    # Handlers may return datetimes, paths or sets; store their text rather than fail a batch.
    return json.dumps(value, default=str, separators=(",", ":"))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # The timeout first: switching a new file to WAL waits for another process creating it.
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_reset(dbapi_conn: Any, record: Any, state: Any) -> None:
    """Return a SQLite connection to the pool rolled back only when a transaction is open.

    SQLAlchemy's default reset rolls back every connection checked in, even right after a
    committed `engine.begin()` block, which on aiosqlite is one more hop to the driver's
    thread and back per transaction. The driver knows whether a transaction is open (read on
    this thread, no hop): nothing else can be pending, so the rollback is skipped then.
    (A `Connection` closed inside its transaction rolls it back itself before this.)
    """
    if getattr(state, "terminate_only", False) or not getattr(state, "asyncio_safe", True):
        return  # as SQLAlchemy's own reset: the connection is being discarded
    try:
        open_transaction = bool(record.driver_connection.in_transaction)
    except (AttributeError, ValueError):  # no driver connection (closed): as SQLAlchemy does
        open_transaction = True
    if open_transaction:
        dbapi_conn.rollback()


class Store:
    """The one persistence layer: an async SQLAlchemy engine plus its migrations.

    Use `await Store.open(url)`; repositories (runs, approvals, spans ...) take the store and
    use `store.engine`.
    """

    def __init__(self, engine: AsyncEngine, url: str):
        self.engine = engine
        self.url = url

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to the store at `url` and bring its schema up to date.

        Raises:
            StoreUnreachable: the URL is malformed, the driver is missing or the server
                does not answer; the message says which and what to set.
        """
        url = normalise_url(url)
        shown = redact_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreUnreachable(f"store URL {shown!r} is malformed: {exc}") from exc
        kwargs: dict[str, Any] = {"json_serializer": _json_dumps}
        if parsed.get_backend_name() == "sqlite":
            kwargs["pool_reset_on_return"] = None  # `_sqlite_reset` does it when needed
            database = parsed.database
            if database and database != ":memory:":
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreUnreachable(
                        f"cannot create the store directory for {database!r}: {exc}; "
                        "set AIOS_HOME to a writable directory") from exc
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        try:
            engine = create_async_engine(url, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise StoreUnreachable(
                f"cannot use store URL {shown!r}: {exc}. Check AIOS_DATABASE_URL: the store is "
                "PostgreSQL (postgresql://USER@HOST/DB; install the extra: pip install "
                "'aios[postgres]') or SQLite (sqlite+aiosqlite:///PATH; or leave "
                "AIOS_DATABASE_URL unset for the file under AIOS_HOME)") from exc
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(engine.sync_engine.pool, "reset", _sqlite_reset)
        store = cls(engine, url)
        try:
            if migrate:
                await migrate_store(engine, parsed.database)
            else:
                async with engine.connect():
                    pass
        except StoreError:
            await engine.dispose()
            raise
        except (OSError, SQLAlchemyError, DBAPIError) as exc:
            await engine.dispose()
            raise StoreUnreachable(
                f"cannot open the store at {shown}: {type(exc).__name__}: "
                f"{database_error(exc)}. Check AIOS_DATABASE_URL (or AIOS_HOME for the "
                "SQLite file) and that the database server is running.") from exc
        return store

    async def close(self) -> None:
        """Release every connection."""
        await self.engine.dispose()
