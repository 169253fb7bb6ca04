"""`UTCDateTime`: every moment read back is aware UTC, on SQLite (which keeps no zone) and
PostgreSQL; an aware moment of another zone is stored as the same instant; and the migrated
schema matches the tables, so switching the columns to it needed no migration."""

from __future__ import annotations

import importlib
import uuid
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from aios.store import Store
from aios.store.types import UTCDateTime

PARIS_SUMMER = timezone(timedelta(hours=2))

#: Every module that defines a table with a `UTCDateTime` column (on the shared metadata).
TABLE_MODULES = ("aios.approvals.channels.deliveries", "aios.approvals.chat_users",
                 "aios.approvals.links", "aios.approvals.requests", "aios.auth.tokens",
                 "aios.auth.users", "aios.discovery.store", "aios.evaluation.tables",
                 "aios.llm.ledger", "aios.mcp.store", "aios.reliability.store",
                 "aios.routing.cache_store", "aios.server.redteam_store",
                 "aios.store.agent_turns", "aios.store.tables")


def _table() -> Table:
    return Table(f"utc_probe_{uuid.uuid4().hex[:8]}", MetaData(),
                 Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))


async def test_moments_come_back_aware_utc_and_the_same_instant(store: Store) -> None:
    table = _table()
    aware = datetime(2026, 7, 1, 14, 30, tzinfo=PARIS_SUMMER)  # 12:30 UTC
    naive = datetime(2026, 7, 1, 9, 0)  # taken as UTC
    async with store.engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
    try:
        async with store.engine.begin() as conn:
            await conn.execute(insert(table), [{"id": 1, "at": aware}, {"id": 2, "at": naive},
                                               {"id": 3, "at": None}])
        async with store.engine.connect() as conn:
            rows = dict((await conn.execute(select(table.c.id, table.c.at))).all())
            later = (await conn.execute(select(table.c.id).where(
                table.c.at > datetime(2026, 7, 1, 13, 0, tzinfo=PARIS_SUMMER)))).scalars().all()
        assert rows[1] == datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
        assert rows[1].utcoffset() == timedelta(0)
        assert rows[2] == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
        assert rows[3] is None
        assert later == [1]  # 11:00 UTC: the comparison is made in UTC too
    finally:
        async with store.engine.begin() as conn:
            await conn.run_sync(table.metadata.drop_all)


async def test_the_migrated_schema_has_no_datetime_type_change(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from aios.store.tables import metadata

    for module in TABLE_MODULES:
        importlib.import_module(module)
    assert sum(isinstance(c.type, UTCDateTime) for t in metadata.tables.values()
               for c in t.columns) >= 40

    def diff(sync_conn: object) -> list[object]:
        return compare_metadata(MigrationContext.configure(
            sync_conn, opts={"compare_type": True}), metadata)  # type: ignore[arg-type]

    async with store.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    flat = [c for group in changes for c in (group if isinstance(group, list) else [group])]
    assert not [c for c in flat if c[0] == "modify_type"], flat
