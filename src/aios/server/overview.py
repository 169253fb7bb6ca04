"""The dashboard's headline figures: runs, error rate, cost today, P95 latency, approvals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from aios.approvals.workflow import ApprovalService
from aios.observability.metrics import compute_metrics
from aios.store.engine import Store
from aios.store.tables import runs

__all__ = ["Overview", "overview"]


@dataclass(frozen=True)
class Overview:
    """Figures over the last 24 hours, cost since midnight UTC.

    Attributes:
        runs_total: runs the store holds.
        runs_24h: runs started in the last 24 hours, by status (as recorded).
        active: runs executing in this server now.
        error_rate_24h: failed actions / actions (action spans of the last 24 hours).
        p95_ms_24h: 95th percentile action latency (None without actions).
        actions_24h: actions executed in the last 24 hours.
        cost_today_usd: LLM cost since midnight UTC; llm_calls_today: those calls.
        pending_approvals: approval requests waiting for a decision.
    """

    runs_total: int
    runs_24h: dict[str, int]
    active: int
    error_rate_24h: float
    p95_ms_24h: float | None
    actions_24h: int
    cost_today_usd: float
    llm_calls_today: int
    pending_approvals: int


async def overview(store: Store, approvals: ApprovalService, *, active: int,
                   now: datetime | None = None) -> Overview:
    """The headline figures of `store`."""
    now = now or datetime.now(UTC)
    day_ago = now - timedelta(days=1)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    async with store.engine.connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(runs))).scalar() or 0
        recent = (await conn.execute(select(runs.c.status, func.count())
                                     .where(runs.c.created_at >= day_ago)
                                     .group_by(runs.c.status))).all()
    last_day = await compute_metrics(store, since=day_ago, until=now)
    today = await compute_metrics(store, since=midnight, until=now)
    actions = next(g for g in last_day.overall if g.key == "actions")
    llm_today = next(g for g in today.overall if g.key == "llm")
    counts = await approvals.requests.counts()
    return Overview(
        runs_total=int(total), runs_24h={str(s): int(n) for s, n in recent}, active=active,
        error_rate_24h=actions.error_rate, p95_ms_24h=actions.p95_ms,
        actions_24h=actions.calls, cost_today_usd=llm_today.cost_usd,
        llm_calls_today=llm_today.llm_calls,
        pending_approvals=counts.get("pending", 0) + counts.get("escalated", 0))
