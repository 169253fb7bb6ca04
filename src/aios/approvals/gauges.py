"""The approval queue as Prometheus metric families, for the alert "approval queue age"."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from aios.approvals.channels.deliveries import FAILED, RETRYING, approval_deliveries
from aios.approvals.requests import DECIDABLE, approval_requests
from aios.store.engine import Store

__all__ = ["approval_gauges"]


async def approval_gauges(store: Store) -> Iterable[Metric]:
    """`aios_approvals_waiting{criticality}`, `aios_approvals_oldest_age_seconds` and the
    channels' `aios_approval_delivery_failures{channel}`,
    `aios_approval_delivery_errors{channel}`."""
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
        if first is not None:
            oldest.add_metric([criticality], (now - first).total_seconds())
    return [waiting, oldest, *await _delivery_gauges(store)]


async def _delivery_gauges(store: Store) -> list[Metric]:
    table = approval_deliveries
    async with store.engine.connect() as conn:
        rows = (await conn.execute(
            select(table.c.channel, table.c.status, func.count())
            .where(table.c.status.in_((FAILED, RETRYING)))
            .group_by(table.c.channel, table.c.status))).all()
    failures = GaugeMetricFamily(
        "aios_approval_delivery_failures",
        "Approval messages a channel did not deliver after its last retry.", labels=["channel"])
    errors = GaugeMetricFamily(
        "aios_approval_delivery_errors",
        "Failed delivery attempts that were retried.", labels=["channel"])
    for channel, status, count in rows:
        (failures if status == FAILED else errors).add_metric([channel], float(count))
    return [failures, errors]
