"""Durable approval requests and decisions: the tables, the records and their repository.

A request is keyed by (run, step, SHA-256 of the proposed arguments), so the same step of the
same run asking again (after a restart or a resume) finds its request instead of creating one.
A withdrawn request (its run was cancelled) leaves that key: resuming the run asks again with a
new request. Every state change is a conditional UPDATE on (`status`, `version`): of two
processes deciding the same request at once, exactly one changes it and the other learns it
lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Table, UniqueConstraint, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from aios.approvals.canonical import args_hash as args_hash_of
from aios.approvals.effective import EffectiveArgs, effective_args
from aios.approvals.policy import Stage
from aios.errors import NotFoundError
from aios.store import columns as col
from aios.store.engine import Store
from aios.store.tables import metadata

__all__ = [
    "DECIDABLE",
    "STATUSES",
    "WITHDRAWN",
    "ApprovalRequest",
    "Decision",
    "RequestStore",
    "approval_decisions",
    "approval_requests",
    "new_request_id",
    "request_from_row",
]

#: Requests in these states wait for a human decision.
DECIDABLE = ("pending", "escalated")
#: The state of a request whose run was cancelled before anyone decided it (terminal).
WITHDRAWN = "withdrawn"
#: Every state a request can be in.
STATUSES = ("pending", "escalated", "approved", "rejected", "expired", "executed", WITHDRAWN)
#: At most one request per call is live; withdrawn ones are history (migration 0017).
_LIVE = text(f"status <> '{WITHDRAWN}'")

approval_requests = Table(
    "approval_requests",
    metadata,
    col.string("id", 32, primary_key=True),
    col.string("run_id", 32),
    col.string("step_id", 200),
    col.string("action", 200),
    col.json("args"),
    col.string("args_hash", 64),
    col.json("approved_args", null=True),  # set when an approver edited the arguments
    col.string("approved_hash", 64, null=True),
    col.string("executed_hash", 64, null=True),
    col.text("reason"),
    col.json("risks"),
    col.number("confidence", null=True),
    col.string("criticality", 16),
    col.integer("priority"),
    col.string("requester", 200),
    col.integer("required_approvals"),
    col.json("route"),  # approver groups: first, then escalation stages
    col.integer("stage"),
    col.timestamp("deadline", null=True),
    col.json("input_schema"),
    col.json("preview", null=True),  # the `preview:` handler's output (or error)
    col.string("preview_hash", 64, null=True),
    col.string("status", 16),
    col.integer("version"),
    col.json("outcome", null=True),
    col.timestamp("created_at"),
    col.timestamp("updated_at"),
    col.timestamp("decided_at", null=True),
    col.timestamp("consumed_at", null=True),
    Index("uq_approval_requests_live_call", "run_id", "step_id", "args_hash", unique=True,
          sqlite_where=_LIVE, postgresql_where=_LIVE),
    Index("ix_approval_requests_queue", "status", "priority", "created_at"),
    Index("ix_approval_requests_run", "run_id"),
)

# One row per approval or rejection. An approver approves a given version of the arguments
# at most once; approvals count only for the arguments currently proposed.
approval_decisions = Table(
    "approval_decisions",
    metadata,
    col.row_id(),
    col.string("request_id", 32),
    col.string("decider", 100),
    col.string("decider_id", 32),
    col.string("decision", 16),  # approve | reject
    col.text("reason", null=True),
    col.string("args_hash", 64),
    col.boolean("edited"),
    col.timestamp("at"),
    UniqueConstraint("request_id", "decider", "args_hash", name="uq_approval_decisions_once"),
    Index("ix_approval_decisions_request", "request_id"),
)


def new_request_id() -> str:
    """A new request id (32 hex digits; any unique prefix names it on the CLI)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Decision:
    """One approver's approval or rejection."""

    decider: str
    decision: str
    reason: str | None
    args_hash: str
    edited: bool
    at: datetime


@dataclass(frozen=True)
class ApprovalRequest:
    """A request as stored, with its decisions in order."""

    id: str
    run_id: str
    step_id: str
    action: str
    args: dict[str, Any]
    args_hash: str
    approved_args: dict[str, Any] | None
    approved_hash: str | None
    executed_hash: str | None
    reason: str
    risks: list[str]
    confidence: float | None
    criticality: str
    priority: int
    requester: str
    required_approvals: int
    route: tuple[Stage, ...]
    stage: int
    deadline: datetime | None
    input_schema: dict[str, Any]
    status: str
    version: int
    outcome: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    consumed_at: datetime | None
    decisions: tuple[Decision, ...] = field(default=())
    preview: dict[str, Any] | None = None
    preview_hash: str | None = None

    @property
    def decidable(self) -> bool:
        """True while the request waits for a human decision."""
        return self.status in DECIDABLE

    @property
    def current_args(self) -> dict[str, Any]:
        """The arguments that will run: edited by an approver, or as proposed."""
        return self.approved_args if self.approved_args is not None else self.args

    @property
    def masked(self) -> bool:
        """True when `args` is a masked view (secrets replaced) of the arguments that run."""
        return args_hash_of(self.args) != self.args_hash

    @property
    def effective(self) -> EffectiveArgs:
        """`current_args` with the action's schema defaults filled in (and marked)."""
        return effective_args(self.current_args, self.input_schema)

    @property
    def current_hash(self) -> str:
        """The SHA-256 of `current_args`."""
        return self.approved_hash or self.args_hash

    @property
    def group(self) -> Stage:
        """The approver group the request waits for now."""
        return self.route[min(self.stage, len(self.route) - 1)]

    def approvers(self) -> list[str]:
        """Distinct users who approved the current arguments, in order."""
        seen: list[str] = []
        for d in self.decisions:
            if d.decision == "approve" and d.args_hash == self.current_hash \
                    and d.decider not in seen:
                seen.append(d.decider)
        return seen

    def rejection(self) -> Decision | None:
        """The rejecting decision, if any."""
        return next((d for d in self.decisions if d.decision == "reject"), None)

    def lineage(self) -> list[dict[str, Any]]:
        """proposed -> edited -> executed, each with its argument hash."""
        steps: list[dict[str, Any]] = [
            {"stage": "proposed", "args_hash": self.args_hash, "by": self.requester}]
        editors = [d.decider for d in self.decisions if d.edited]
        if self.approved_hash is not None:
            steps.append({"stage": "edited", "args_hash": self.approved_hash,
                          "by": editors[-1] if editors else None})
        if self.executed_hash is not None:
            steps.append({"stage": "executed", "args_hash": self.executed_hash, "by": None})
        return steps

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view (CLI `--json`, REST API)."""
        effective = self.effective
        return {
            "id": self.id, "run_id": self.run_id, "step_id": self.step_id,
            "action": self.action, "status": self.status, "version": self.version,
            "criticality": self.criticality, "priority": self.priority,
            "requester": self.requester, "reason": self.reason, "risks": self.risks,
            "confidence": self.confidence, "args": self.args, "args_hash": self.args_hash,
            "approved_args": self.approved_args, "approved_hash": self.approved_hash,
            "executed_hash": self.executed_hash, "current_args": self.current_args,
            "effective_args": effective.values, "defaults": list(effective.defaults),
            "required_approvals": self.required_approvals, "approvers": self.approvers(),
            "group": self.group.group, "stage": self.stage,
            "route": [s.to_json() for s in self.route],
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "outcome": self.outcome, "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "consumed_at": self.consumed_at.isoformat() if self.consumed_at else None,
            "lineage": self.lineage(), "preview": self.preview, "masked": self.masked,
            "preview_hash": self.preview_hash,
            "decisions": [{"decider": d.decider, "decision": d.decision, "reason": d.reason,
                           "args_hash": d.args_hash, "edited": d.edited,
                           "at": d.at.isoformat()} for d in self.decisions],
        }


def request_from_row(row: Any, decisions: Sequence[Decision] = ()) -> ApprovalRequest:
    """An `ApprovalRequest` from a row of `approval_requests` (mapping) and its decisions."""
    return ApprovalRequest(
        id=row["id"], run_id=row["run_id"], step_id=row["step_id"], action=row["action"],
        args=dict(row["args"] or {}), args_hash=row["args_hash"],
        approved_args=row["approved_args"], approved_hash=row["approved_hash"],
        executed_hash=row["executed_hash"], reason=row["reason"], risks=list(row["risks"] or []),
        confidence=row["confidence"], criticality=row["criticality"], priority=row["priority"],
        requester=row["requester"], required_approvals=row["required_approvals"],
        route=tuple(Stage.from_json(s) for s in row["route"]), stage=row["stage"],
        deadline=row["deadline"], input_schema=dict(row["input_schema"] or {}),
        status=row["status"], version=row["version"], outcome=row["outcome"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        decided_at=row["decided_at"], consumed_at=row["consumed_at"],
        decisions=tuple(decisions), preview=row.get("preview"),
        preview_hash=row.get("preview_hash"))


def _decision(row: Any) -> Decision:
    return Decision(decider=row["decider"], decision=row["decision"], reason=row["reason"],
                    args_hash=row["args_hash"], edited=bool(row["edited"]),
                    at=row["at"])


class RequestStore:
    """Reads requests; writes them inside a transaction the caller owns."""

    def __init__(self, store: Store):
        self.store = store
        # SQLite has one writer at a time; queueing this process's writers here is fairer
        # and faster than letting them sleep in SQLite's busy handler. Other processes are
        # still serialised by SQLite itself.
        self._write_lock = asyncio.Lock() if store.dialect == "sqlite" else None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (committed on exit, rolled back on an exception)."""
        if self._write_lock is None:
            async with self.store.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.store.engine.begin() as conn:
            yield conn

    # -- reads ------------------------------------------------------------------------------

    async def _load(self, conn: AsyncConnection, rows: Sequence[Any]) -> list[ApprovalRequest]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        decisions: dict[str, list[Decision]] = {i: [] for i in ids}
        query = (select(approval_decisions).where(approval_decisions.c.request_id.in_(ids))
                 .order_by(approval_decisions.c.id))
        for d in (await conn.execute(query)).mappings().all():
            decisions[d["request_id"]].append(_decision(d))
        return [request_from_row(row, decisions[row["id"]]) for row in rows]

    async def get(self, request_id: str, conn: AsyncConnection | None = None) -> ApprovalRequest:
        """A request by id or unique id prefix.

        Raises:
            NotFoundError: no request, or several, match.
        """
        if conn is None:
            async with self.store.engine.connect() as own:
                return await self.get(request_id, own)
        query = select(approval_requests).where(
            approval_requests.c.id.startswith(request_id, autoescape=True)).limit(3)
        rows = (await conn.execute(query)).mappings().all()
        if not rows:
            raise NotFoundError(f"no approval request {request_id!r}; `aios approvals list` "
                                "shows the queue")
        exact = [r for r in rows if r["id"] == request_id]
        if len(rows) > 1 and not exact:
            raise NotFoundError(f"request id prefix {request_id!r} is ambiguous; give more "
                                "characters")
        return (await self._load(conn, exact or rows))[0]

    async def find(self, run_id: str, step_id: str, args_hash: str) -> ApprovalRequest | None:
        """The live (not withdrawn) request of this call, if one exists."""
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(approval_requests).where(
                approval_requests.c.run_id == run_id, approval_requests.c.step_id == step_id,
                approval_requests.c.args_hash == args_hash,
                approval_requests.c.status != WITHDRAWN))).mappings().all()
            found = await self._load(conn, rows)
        return found[0] if found else None

    async def status_of(self, request_id: str) -> tuple[str, datetime | None]:
        """(status, deadline) of a request, in one cheap query (for waiting loops)."""
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(
                approval_requests.c.status, approval_requests.c.deadline).where(
                approval_requests.c.id == request_id))).first()
        if row is None:
            raise NotFoundError(f"no approval request {request_id!r}")
        return str(row[0]), row[1]

    async def list_requests(self, *, statuses: Sequence[str] | None = DECIDABLE,
                   run_id: str | None = None, limit: int | None = 100) -> list[ApprovalRequest]:
        """Requests in queue order: highest priority (critical) first, then oldest first.

        `limit` None returns every match (all requests of a run, to withdraw them).
        """
        query = select(approval_requests).order_by(
            approval_requests.c.priority.desc(), approval_requests.c.created_at,
            approval_requests.c.id).limit(limit)
        if statuses:
            query = query.where(approval_requests.c.status.in_(list(statuses)))
        if run_id is not None:
            query = query.where(approval_requests.c.run_id == run_id)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
            return await self._load(conn, rows)

    async def due(self, now: datetime, ids: Sequence[str] | None = None
                  ) -> list[tuple[str, int]]:
        """(id, version) of undecided requests whose deadline has passed."""
        query = select(approval_requests.c.id, approval_requests.c.version).where(
            approval_requests.c.status.in_(DECIDABLE), approval_requests.c.deadline <= now)
        if ids is not None:
            query = query.where(approval_requests.c.id.in_(list(ids)))
        async with self.store.engine.connect() as conn:
            return [(str(r[0]), int(r[1])) for r in (await conn.execute(query)).all()]

    async def counts(self) -> dict[str, int]:
        """How many requests are in each state."""
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(approval_requests.c.status, func.count())
                                       .group_by(approval_requests.c.status))).all()
        return {str(r[0]): int(r[1]) for r in rows}

    # -- writes (inside the caller's transaction) ------------------------------------------

    @staticmethod
    async def claim(conn: AsyncConnection, request_id: str, version: int,
                    statuses: Sequence[str], now: datetime) -> bool:
        """Bump the version of a request still at `version` and in one of `statuses`.

        This is the first statement of every state change: it takes the row lock (SQLite:
        the write lock), and returns False when another writer changed the request first.
        """
        result = await conn.execute(update(approval_requests).where(
            approval_requests.c.id == request_id, approval_requests.c.version == version,
            approval_requests.c.status.in_(list(statuses))).values(
            version=version + 1, updated_at=now))
        return bool(result.rowcount == 1)

    @staticmethod
    async def set(conn: AsyncConnection, request_id: str, **values: Any) -> None:
        """Write columns of a request already claimed in this transaction."""
        await conn.execute(update(approval_requests).where(
            approval_requests.c.id == request_id).values(**values))
