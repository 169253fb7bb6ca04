"""The cost ledger: one row per LLM call in the `llm_calls` table, queued on a `BatchWriter`.

Rows are written by the gateway after every call (answered, failed, cancelled or served from
the cache), so the table is the one source for cost roll-ups, and budgets read a resumed run's
earlier spend from it. A row waits on the writer for the next batch, or `COMMIT_WITHIN_S` at
most (`BatchWriter.put(within_s=)`): a server answering many calls commits their rows
together, off each request's path. What that trades: another process (`aios keys list`, a
second server loading a tenant's spend) sees a call up to that long after it ended, and a
crash can lose that long of rows. This process's budgets are unaffected: they count calls in
memory as they end, and `spend` and the roll-ups below flush first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Table, case, func, select

from aios.store import columns as col
from aios.store.engine import Store
from aios.store.tables import metadata
from aios.store.writer import BatchWriter

__all__ = ["COMMIT_WITHIN_S", "CallRecord", "CostLedger", "KeySpend", "Spend", "llm_calls"]

#: The longest a recorded call waits on the writer before it is committed.
COMMIT_WITHIN_S = 0.1

llm_calls = Table(
    "llm_calls",
    metadata,
    col.row_id(),
    col.timestamp("at"),
    col.string("run_id", 32, null=True),
    col.string("agent", 200, null=True),
    col.string("action", 200, null=True),
    col.string("tenant", 200, null=True),
    col.string("user", 200, null=True),
    col.string("model", 200),  # the manifest's model name
    col.string("model_id", 200),  # the provider's model id
    col.string("provider", 64),
    col.integer("input_tokens", default=0),
    col.integer("output_tokens", default=0),
    col.integer("cache_read_tokens", default=0),
    col.integer("cache_write_tokens", default=0),
    col.integer("reasoning_tokens", default=0),
    col.boolean("counted", default=False),
    col.number("cost_usd", default=0.0),
    col.number("latency_s", null=True),
    col.number("ttft_s", null=True),
    col.boolean("cached", default=False),
    col.boolean("stream", default=False),
    col.string("status", 16),  # ok | error | invalid | cancelled
    col.text("error", null=True),
    col.text("route_reason", null=True),
    col.string("api_key", 16, null=True),  # the API key's id (the endpoint's calls)
    Index("ix_llm_calls_at", "at"),
    Index("ix_llm_calls_run", "run_id"),
    Index("ix_llm_calls_tenant", "tenant", "at"),
    Index("ix_llm_calls_user", "user", "at"),
    Index("ix_llm_calls_api_key", "api_key", "at"),
)


@dataclass(frozen=True)
class CallRecord:
    """One LLM call as the ledger stores it (the columns of `llm_calls`, minus the id)."""

    at: datetime
    model: str
    model_id: str
    provider: str
    status: str
    run_id: str | None = None
    agent: str | None = None
    action: str | None = None
    tenant: str | None = None
    user: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    counted: bool = False
    cost_usd: float = 0.0
    latency_s: float | None = None
    ttft_s: float | None = None
    cached: bool = False
    stream: bool = False
    error: str | None = None
    route_reason: str | None = None
    api_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def row(self) -> dict[str, Any]:
        """The row to insert (a shallow copy: every column is a scalar, so `asdict`'s deep
        copy would only cost time on every call)."""
        return {name: getattr(self, name) for name in _COLUMNS}


_COLUMNS = tuple(f.name for f in fields(CallRecord) if f.name != "extra")


@dataclass(frozen=True)
class Spend:
    """Tokens and dollars summed over some calls."""

    tokens: int = 0
    usd: float = 0.0


@dataclass(frozen=True)
class KeySpend:
    """What one API key's calls used: calls (cache hits included), tokens and dollars (cache
    hits excluded: they consumed nothing)."""

    calls: int = 0
    tokens: int = 0
    usd: float = 0.0


def _spent_tokens() -> Any:
    return func.coalesce(func.sum(case((llm_calls.c.cached.is_(False),
                                        llm_calls.c.input_tokens + llm_calls.c.output_tokens),
                                       else_=0)), 0)


class CostLedger:
    """Records calls on a `BatchWriter` and sums past spend for budgets.

    Args:
        store: the store rows go to and past spend is read from.
        writer: where rows are queued; pass the runtime's writer so LLM calls share its group
            commits (default: a writer of its own, stopped by `close`).
    """

    def __init__(self, store: Store, writer: BatchWriter | None = None):
        self.store = store
        self._own_writer = writer is None
        self.writer = writer if writer is not None else BatchWriter(store)

    async def close(self) -> None:
        """Flush; stop the writer if the ledger created it."""
        if self._own_writer:
            await self.writer.close()
        else:
            await self.writer.flush()

    def record(self, call: CallRecord) -> None:
        """Queue `call`; it is committed with the writer's next batch, within
        `COMMIT_WITHIN_S` at the latest."""
        self.writer.put(llm_calls, call.row(), within_s=COMMIT_WITHIN_S)

    async def flush(self) -> None:
        """Wait until every recorded call is committed."""
        await self.writer.flush()

    async def spend(self, *, run_id: str | None = None, agent: str | None = None,
                    tenant: str | None = None, user: str | None = None,
                    api_key: str | None = None, since: datetime | None = None) -> Spend:
        """Tokens and USD of the recorded calls (cache hits excluded) matching every filter."""
        await self.writer.flush()  # this process's queued rows count too
        query = select(func.coalesce(func.sum(llm_calls.c.input_tokens
                                              + llm_calls.c.output_tokens), 0),
                       func.coalesce(func.sum(llm_calls.c.cost_usd), 0.0)
                       ).where(llm_calls.c.cached.is_(False))  # cache hits consumed nothing
        for column, value in (("run_id", run_id), ("agent", agent), ("tenant", tenant),
                              ("user", user), ("api_key", api_key)):
            if value is not None:
                query = query.where(llm_calls.c[column] == value)
        if since is not None:
            query = query.where(llm_calls.c.at >= since)
        async with self.store.engine.connect() as conn:
            tokens, usd = (await conn.execute(query)).one()
        return Spend(int(tokens or 0), float(usd or 0.0))

    async def by_key(self, *, since: datetime | None = None,
                     keys: list[str] | None = None) -> dict[str, KeySpend]:
        """Calls, tokens and USD per API key id (of `keys` only, when given), from the rows
        the gateway wrote: the cost is the one the call was charged, never recomputed."""
        await self.writer.flush()
        query = (select(llm_calls.c.api_key, func.count(), _spent_tokens(),
                        func.coalesce(func.sum(llm_calls.c.cost_usd), 0.0))
                 .where(llm_calls.c.api_key.is_not(None)).group_by(llm_calls.c.api_key))
        if since is not None:
            query = query.where(llm_calls.c.at >= since)
        if keys is not None:
            query = query.where(llm_calls.c.api_key.in_(keys))
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {str(key): KeySpend(int(calls), int(tokens or 0), float(usd or 0.0))
                for key, calls, tokens, usd in rows}

    async def calls(self, *, run_id: str | None = None, limit: int = 100) -> list[CallRecord]:
        """The most recent calls first (of one run when `run_id` is given)."""
        await self.writer.flush()
        query = select(llm_calls).order_by(llm_calls.c.id.desc()).limit(limit)
        if run_id is not None:
            query = query.where(llm_calls.c.run_id == run_id)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        names = set(CallRecord.__dataclass_fields__) - {"extra"}
        return [CallRecord(**{k: v for k, v in row.items() if k in names}) for row in rows]
