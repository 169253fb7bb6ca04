"""The approval queue as Prometheus metric families, for the alert "approval queue age"."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from aios.approvals.requests import DECIDABLE, approval_requests
from aios.store.engine import Store
from aios.store.runs import as_utc

__all__ = ["approval_gauges"]


async def approval_gauges(store: Store) -> Iterable[Metric]:
    """`aios_approvals_waiting{criticality}` and `aios_approvals_oldest_age_seconds`."""
    table = approval_requests
    async with store.engine.connect() as conn:
        rows = (await conn.execute(
            select(table.c.criticality, func.count(), func.min(table.c.created_at))
            .where(table.c.status.in_(DECIDABLE)).group_by(table.c.criticality))).all()
    now = datetime.now(UTC)
    waiting = GaugeMetricFamily("aios_approvals_waiting",
                                "Approval requests waiting for a decision.",
                                labels=["criticality"])
    oldest = GaugeMetricFamily("aios_approvals_oldest_age_seconds",
                               "Age of the oldest request still waiting.",
                               labels=["criticality"])
    for criticality, count, first in rows:
        waiting.add_metric([criticality], float(count))
        created = as_utc(first)
        if created is not None:
            oldest.add_metric([criticality], (now - created).total_seconds())
    return [waiting, oldest]
