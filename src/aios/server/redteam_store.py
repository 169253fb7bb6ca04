"""Red-team reports kept in the store, so every server replica and the dashboard see them.

A report is either uploaded (the JSON `aios redteam --json` prints) or produced by a run the
server executes; it is stored as that same JSON, with per-mode totals for listings.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index, Table, insert, select, update

from aios.errors import NotFoundError
from aios.store import columns as col
from aios.store.engine import Store
from aios.store.tables import metadata

__all__ = ["RedTeamRecord", "RedTeamStore", "redteam_reports", "totals"]

redteam_reports = Table(
    "redteam_reports",
    metadata,
    col.string("id", 32, primary_key=True),
    col.string("target", 500),
    col.string("status", 16),  # running | succeeded | failed
    col.string("source", 16),  # run (by the server) | upload
    col.string("requested_by", 100),
    col.json("options"),
    col.json("summary", null=True),  # {mode: {attacks, succeeded, blocked, ...}}
    col.json("report", null=True),  # what `aios redteam --json` prints
    col.text("error", null=True),
    col.timestamp("created_at"),
    col.timestamp("finished_at", null=True),
    Index("ix_redteam_reports_created", "created_at"),
)

_TOTALS = ("attacks", "succeeded", "blocked", "errors")


def totals(report: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Per guardrail mode: attacks, succeeded, blocked, errors (from a report's summaries)."""
    out: dict[str, dict[str, int]] = {}
    for mode, body in (report.get("runs") or {}).items():
        summary = body.get("summary") or {}
        out[str(mode)] = {k: int(summary.get(k, 0) or 0) for k in _TOTALS}
    return out


@dataclass(frozen=True)
class RedTeamRecord:
    """A stored report (`report` is None in listings and while it runs)."""

    id: str
    target: str
    status: str
    source: str
    requested_by: str
    options: dict[str, Any]
    summary: dict[str, dict[str, int]] | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    report: dict[str, Any] | None = None


class RedTeamStore:
    """Creates, finishes and reads red-team reports."""

    def __init__(self, store: Store):
        self.store = store

    async def create(self, *, target: str, source: str, requested_by: str,
                     options: Mapping[str, Any], report: Mapping[str, Any] | None = None
                     ) -> str:
        """Insert a report: finished when `report` is given (an upload), else running."""
        report_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        async with self.store.engine.begin() as conn:
            await conn.execute(insert(redteam_reports).values(
                id=report_id, target=target, source=source, requested_by=requested_by,
                options=dict(options), status="running" if report is None else "succeeded",
                summary=totals(report) if report is not None else None,
                report=dict(report) if report is not None else None, error=None,
                created_at=now, finished_at=None if report is None else now))
        return report_id

    async def finish(self, report_id: str, *, report: Mapping[str, Any] | None = None,
                     error: str | None = None) -> None:
        """Record how a run ended: its report, or the error that stopped it."""
        async with self.store.engine.begin() as conn:
            await conn.execute(update(redteam_reports).where(
                redteam_reports.c.id == report_id).values(
                status="failed" if error else "succeeded", error=error,
                summary=totals(report) if report is not None else None,
                report=dict(report) if report is not None else None,
                finished_at=datetime.now(UTC)))

    @staticmethod
    def _record(row: Any, with_report: bool) -> RedTeamRecord:
        return RedTeamRecord(
            id=row["id"], target=row["target"], status=row["status"], source=row["source"],
            requested_by=row["requested_by"], options=dict(row["options"] or {}),
            summary=row["summary"], error=row["error"],
            created_at=row["created_at"],
            finished_at=row["finished_at"],
            report=row["report"] if with_report else None)

    async def list(self, limit: int = 20) -> list[RedTeamRecord]:
        """The most recent reports first, without their findings."""
        columns = [c for c in redteam_reports.c if c.name != "report"]
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(*columns).order_by(
                redteam_reports.c.created_at.desc()).limit(limit))).mappings().all()
        return [self._record(r, False) for r in rows]

    async def get(self, report_id: str) -> RedTeamRecord:
        """A report with its findings, by id or unique prefix.

        Raises:
            NotFoundError: no report, or several, match.
        """
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(redteam_reports).where(
                redteam_reports.c.id.startswith(report_id, autoescape=True)).limit(3)
            )).mappings().all()
        if len(rows) != 1:
            problem = "is ambiguous; give more characters" if rows else "does not exist"
            raise NotFoundError(f"red-team report {report_id!r} {problem} (GET "
                                "/api/redteam/reports lists them)")
        return self._record(rows[0], True)
