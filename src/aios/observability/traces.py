"""Reading stored traces: list them, load one as a tree, prune old ones."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, select

from aios.errors import ConfigError, NotFoundError
from aios.observability.table import spans
from aios.observability.window import to_ns
from aios.store.engine import Store

__all__ = ["SpanNode", "TraceSummary", "TraceTree", "get_trace", "list_traces", "prune_spans"]

_STATUSES = ("ok", "error")


def _time(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


@dataclass(frozen=True)
class TraceSummary:
    """One trace in a listing."""

    trace_id: str
    name: str
    run_id: str | None
    start: datetime
    duration_ms: float
    spans: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float

    @property
    def status(self) -> str:
        """`error` when any span failed, else `ok`."""
        return "error" if self.errors else "ok"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"trace_id": self.trace_id, "name": self.name, "run_id": self.run_id,
                "start": self.start.isoformat(), "duration_ms": round(self.duration_ms, 3),
                "spans": self.spans, "errors": self.errors, "status": self.status,
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost_usd": self.cost_usd}


@dataclass
class SpanNode:
    """One stored span and its children, in start order."""

    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start: datetime
    duration_ms: float
    status: str
    attributes: dict[str, Any]
    events: list[dict[str, Any]]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: str | None
    children: list[SpanNode] = field(default_factory=list)

    @property
    def stacktrace(self) -> str | None:
        """The stack trace of the exception recorded on this span, if any."""
        for ev in self.events:
            if ev.get("name") == "exception":
                trace = ev.get("attributes", {}).get("exception.stacktrace")
                return str(trace) if trace else None
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, children included."""
        return {"span_id": self.span_id, "parent_id": self.parent_id, "name": self.name,
                "kind": self.kind, "start": self.start.isoformat(),
                "duration_ms": round(self.duration_ms, 3), "status": self.status,
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost_usd": self.cost_usd, "error": self.error, "attributes": self.attributes,
                "events": self.events, "children": [c.to_json() for c in self.children]}


@dataclass(frozen=True)
class TraceTree:
    """A whole trace: its roots (normally one) with their descendants.

    Shown for a run, it holds every trace of the run (the first execution, then each
    resume): `trace_ids` in order, their roots in the same order, `trace_id` the first.
    """

    trace_id: str
    roots: tuple[SpanNode, ...]
    span_count: int
    run_id: str | None = None
    trace_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"trace_id": self.trace_id, "run_id": self.run_id,
                "trace_ids": list(self.trace_ids or (self.trace_id,)),
                "spans": self.span_count, "roots": [r.to_json() for r in self.roots]}


async def list_traces(store: Store, *, limit: int = 20, run_id: str | None = None,
                      agent: str | None = None, status: str | None = None,
                      since: datetime | None = None) -> list[TraceSummary]:
    """The most recent traces, newest first.

    Raises:
        ConfigError: `status` is neither `ok` nor `error`.
    """
    if status is not None and status not in _STATUSES:
        raise ConfigError(f"--status {status!r} is not a trace status; use ok or error")
    errors = func.sum(case((spans.c.status == "error", 1), else_=0))
    query = (select(spans.c.trace_id, func.min(spans.c.start_ns), func.max(spans.c.end_ns),
                    func.count(), errors, func.sum(spans.c.input_tokens),
                    func.sum(spans.c.output_tokens), func.sum(spans.c.cost_usd),
                    func.max(spans.c.run_id))
             .group_by(spans.c.trace_id).order_by(func.min(spans.c.start_ns).desc())
             .limit(limit))
    for column, value in (("run_id", run_id), ("agent", agent)):
        if value is not None:
            query = query.where(spans.c.trace_id.in_(
                select(spans.c.trace_id).where(spans.c[column] == value)))
    if since is not None:
        query = query.where(spans.c.start_ns >= to_ns(since))
    if status == "error":
        query = query.having(errors > 0)
    elif status == "ok":
        query = query.having(errors == 0)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
        ids = [row[0] for row in rows]
        names: dict[str, str] = {}
        if ids:
            roots = await conn.execute(
                select(spans.c.trace_id, spans.c.name, spans.c.start_ns)
                .where(and_(spans.c.trace_id.in_(ids), spans.c.parent_id.is_(None))))
            for trace_id, name, _ in sorted(roots.all(), key=lambda r: r[2], reverse=True):
                names[trace_id] = name
            open_ids = [i for i in ids if i not in names]
            if open_ids:
                # The root (run) span is written when it ends: a running or waiting run's
                # trace is named after its earliest stored span until then.
                first = await conn.execute(
                    select(spans.c.trace_id, spans.c.name, spans.c.start_ns)
                    .where(spans.c.trace_id.in_(open_ids)))
                for trace_id, name, _ in sorted(first.all(), key=lambda r: r[2], reverse=True):
                    names[trace_id] = f"{name} (run still open)"
    return [TraceSummary(row[0], names.get(row[0], "(no spans)"), row[8], _time(row[1]),
                         (row[2] - row[1]) / 1e6, row[3], int(row[4] or 0), int(row[5] or 0),
                         int(row[6] or 0), float(row[7] or 0.0)) for row in rows]


async def _run_traces(conn: Any, run_id: str) -> list[str]:
    """Every trace of run `run_id` (its first execution, then each resume), oldest first."""
    rows = (await conn.execute(
        select(spans.c.trace_id, func.min(spans.c.start_ns)).where(spans.c.run_id == run_id)
        .group_by(spans.c.trace_id).order_by(func.min(spans.c.start_ns)))).all()
    return [str(row[0]) for row in rows]


async def _resolve(conn: Any, ident: str) -> tuple[list[str], str | None]:
    """`(trace ids, run id)` for a trace id, a run id, or a unique prefix of either."""
    ident = ident.strip().lower()
    if len(ident) == 32:
        found = (await conn.execute(select(spans.c.trace_id).where(
            spans.c.trace_id == ident).limit(1))).scalar()
        if found:
            return [str(found)], None
    by_run = await _run_traces(conn, ident)
    if by_run:
        return by_run, ident
    if len(ident) >= 4:
        # A run id prefix, as `aios boot` prints it (`aios runs show 1a2b3c4d5e6f`).
        runs_found = (await conn.execute(select(spans.c.run_id).distinct().where(and_(
            spans.c.run_id.like(f"{ident}%"), spans.c.kind == "run")).limit(2))).scalars().all()
        if len(runs_found) == 1:
            return await _resolve(conn, str(runs_found[0]))
        matches = (await conn.execute(select(spans.c.trace_id).distinct().where(
            spans.c.trace_id.like(f"{ident}%")).limit(3))).scalars().all()
        if len(matches) == 1:
            return [str(matches[0])], None
        if len(matches) > 1:
            raise NotFoundError(f"trace id prefix {ident!r} matches several traces; give more "
                                "characters (`aios traces` lists them)")
    raise NotFoundError(f"no trace {ident!r}: give a trace id (or a prefix of at least 4 "
                        "characters) or a run id; `aios traces` lists them")


async def get_trace(store: Store, ident: str) -> TraceTree:
    """The trace with id (or unique id prefix) `ident`, or every trace of run `ident`.

    A run that was resumed has one trace per execution; they come in order, as the roots
    of one tree.

    Raises:
        NotFoundError: nothing matches; the message says what to give instead.
    """
    async with store.engine.connect() as conn:
        trace_ids, run_id = await _resolve(conn, ident)
        rows = (await conn.execute(select(spans).where(spans.c.trace_id.in_(trace_ids))
                                   .order_by(spans.c.start_ns))).mappings().all()
    nodes = {row["span_id"]: SpanNode(
        row["span_id"], row["parent_id"], row["name"], row["kind"], _time(row["start_ns"]),
        row["duration_ms"], row["status"], json.loads(row["attributes"]),
        json.loads(row["events"]), row["input_tokens"], row["output_tokens"], row["cost_usd"],
        row["error"]) for row in rows}
    roots: list[SpanNode] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id) if node.parent_id else None
        (parent.children if parent is not None else roots).append(node)
    return TraceTree(trace_ids[0], tuple(roots), len(nodes), run_id, tuple(trace_ids))


async def prune_spans(store: Store, older_than: timedelta, *,
                      now: datetime | None = None) -> int:
    """Delete spans that ended more than `older_than` ago; returns how many."""
    cutoff = to_ns((now or datetime.now(UTC)) - older_than)
    async with store.engine.begin() as conn:
        result = await conn.execute(delete(spans).where(spans.c.end_ns < cutoff))
    return int(result.rowcount or 0)
