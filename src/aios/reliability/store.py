"""The shared `breakers` table: one row per circuit breaker, its latest transition.

Writes happen only on transitions (an upsert that never lets an older transition overwrite a
newer one); reads are a periodic background refresh. Both work on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from aios.store import columns as col
from aios.store.engine import Store
from aios.store.tables import metadata

__all__ = ["BreakerRow", "BreakerStore", "breakers"]

breakers = Table(
    "breakers",
    metadata,
    col.string("name", 300, primary_key=True),
    col.string("state", 16),  # closed | open | half_open
    col.timestamp("opened_at", null=True),
    col.timestamp("changed_at"),
    col.number("failure_rate", default=0.0),
    col.integer("calls", default=0),
    col.integer("transitions", default=1),
    col.text("reason", default=""),
    col.string("changed_by", 200, default=""),
)


@dataclass(frozen=True)
class BreakerRow:
    """A breaker's latest transition, as shared between processes (times in epoch seconds)."""

    name: str
    state: str
    opened_at: float | None
    changed_at: float
    failure_rate: float = 0.0
    calls: int = 0
    reason: str = ""
    changed_by: str = ""
    transitions: int = 1  # how many transitions this row stands for (writes coalesce)


def _to_dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _to_epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


class BreakerStore:
    """Reads and writes the `breakers` table of a `Store`."""

    def __init__(self, store: Store):
        self.store = store

    async def save(self, rows: Sequence[BreakerRow]) -> None:
        """Upsert `rows`; a row older than the stored one for the same breaker is ignored."""
        if not rows:
            return
        dialect = postgresql if self.store.dialect == "postgresql" else sqlite
        async with self.store.engine.begin() as conn:
            for row in rows:
                values = {"name": row.name, "state": row.state,
                          "opened_at": _to_dt(row.opened_at),
                          "changed_at": _to_dt(row.changed_at),
                          "failure_rate": row.failure_rate, "calls": row.calls,
                          "transitions": row.transitions, "reason": row.reason,
                          "changed_by": row.changed_by}
                stmt = dialect.insert(breakers).values(**values)
                update = {key: stmt.excluded[key] for key in values
                          if key not in ("name", "transitions")}
                update["transitions"] = breakers.c.transitions + stmt.excluded.transitions
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=[breakers.c.name], set_=update,
                    where=breakers.c.changed_at < stmt.excluded.changed_at))

    async def load(self) -> list[BreakerRow]:
        """Every breaker's latest transition, by name."""
        async with self.store.engine.connect() as conn:
            result = await conn.execute(select(breakers).order_by(breakers.c.name))
            rows = result.mappings().all()
        return [BreakerRow(name=r["name"], state=r["state"], opened_at=_to_epoch(r["opened_at"]),
                           changed_at=_to_epoch(r["changed_at"]) or 0.0,
                           failure_rate=r["failure_rate"], calls=r["calls"],
                           reason=r["reason"], changed_by=r["changed_by"],
                           transitions=r["transitions"]) for r in rows]

    async def reset(self, name: str | None, *, now: float, by: str) -> list[str]:
        """Close one breaker (every stored breaker when `name` is None) for every process.

        A closed row newer than the last transition is written: each process adopts it on its
        next refresh, as it adopts any transition.

        Returns:
            The names of the breakers closed.
        """
        rows = [row for row in await self.load() if name is None or row.name == name]
        await self.save([BreakerRow(name=row.name, state="closed", opened_at=None,
                                    changed_at=max(now, row.changed_at + 1e-6),
                                    reason=f"reset by {by}", changed_by=by) for row in rows])
        return [row.name for row in rows]
