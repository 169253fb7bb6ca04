"""Delivery attempts: one row per attempt of one message to one channel, audited.

Each attempt is also a record of the hash-chained audit log (`delivery.sent`,
`delivery.retrying`, `delivery.failed`), written in the same transaction, so the trail shows
who was told what, when, and which channel did not answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Table, func, insert, select

from aios.approvals.audit import AuditLog
from aios.approvals.requests import RequestStore
from aios.store import columns as col
from aios.store.tables import metadata

__all__ = ["FAILED", "RETRYING", "SENT", "Delivery", "DeliveryLog", "approval_deliveries"]

#: The attempt was accepted by the channel.
SENT = "sent"
#: The attempt failed; another one follows after a pause.
RETRYING = "retrying"
#: The last attempt failed: the message was not delivered (counted by the gauge).
FAILED = "failed"

approval_deliveries = Table(
    "approval_deliveries",
    metadata,
    col.row_id(),
    col.string("request_id", 32),
    col.string("run_id", 32),
    col.string("event", 16),
    col.string("channel", 100),
    col.text("target"),
    col.integer("attempt"),
    col.string("status", 16),  # sent | retrying | failed
    col.text("detail"),
    col.timestamp("at"),
    Index("ix_approval_deliveries_request", "request_id"),
    Index("ix_approval_deliveries_status", "status", "channel"),
)


@dataclass(frozen=True)
class Delivery:
    """One attempt, as stored."""

    request_id: str
    event: str
    channel: str
    target: str
    attempt: int
    status: str
    detail: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        """For `--json` and the REST API."""
        return {"event": self.event, "channel": self.channel, "target": self.target,
                "attempt": self.attempt, "status": self.status, "detail": self.detail,
                "at": self.at.isoformat()}


class DeliveryLog:
    """Writes attempts (with their audit records) and reads them back."""

    def __init__(self, requests: RequestStore, audit: AuditLog):
        self.requests = requests
        self.audit = audit

    async def record(self, *, request_id: str, run_id: str, event: str, channel: str,
                     target: str, attempt: int, status: str, detail: str,
                     at: datetime) -> None:
        """Store one attempt and its audit record in one transaction."""
        async with self.requests.transaction() as conn:
            await conn.execute(insert(approval_deliveries).values(
                request_id=request_id, run_id=run_id, event=event, channel=channel,
                target=target, attempt=attempt, status=status, detail=detail[:2000], at=at))
            await self.audit.append(conn, f"delivery.{status}", actor=f"channel:{channel}",
                                    request_id=request_id, run_id=run_id, data={
                                        "event": event, "target": target,
                                        "attempt": attempt, "detail": detail[:500]})

    async def for_request(self, request_id: str) -> list[Delivery]:
        """Every attempt for one request, oldest first."""
        table = approval_deliveries
        async with self.requests.store.engine.connect() as conn:
            rows = (await conn.execute(select(table).where(table.c.request_id == request_id)
                                       .order_by(table.c.id))).mappings().all()
        return [Delivery(r["request_id"], r["event"], r["channel"], r["target"], r["attempt"],
                         r["status"], r["detail"],
                         r["at"])
                for r in rows]

    async def counts(self) -> dict[tuple[str, str], int]:
        """(channel, status) -> number of attempts, for the gauges."""
        table = approval_deliveries
        async with self.requests.store.engine.connect() as conn:
            rows = (await conn.execute(select(table.c.channel, table.c.status, func.count())
                                       .group_by(table.c.channel, table.c.status))).all()
        return {(str(c), str(s)): int(n) for c, s, n in rows}
