"""Metrics computed from the stored spans: calls, tokens by class, cost, error rate and latency
percentiles, overall and by agent, action, model and provider, over a time window.

Actions are measured from action spans (their calls, errors, latency) with the tokens and
cost of the LLM calls made inside them; models and providers from LLM spans. The breakdown by
user (whose API key made the call: the OpenAI-compatible endpoint, or a handler's bound
gateway) comes from the cost ledger, whose rows carry the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from aios.llm.ledger import llm_calls
from aios.observability.table import spans
from aios.observability.window import to_ns
from aios.store.engine import Store

__all__ = ["DIMENSIONS", "GroupStats", "MetricsReport", "compute_metrics", "summarise"]

TOKEN_CLASSES = ("input", "output", "cache_read", "cache_write", "reasoning")
#: Breakdowns: name -> (spans measured for calls and latency, column grouped on).
DIMENSIONS = {"agent": ("action", "agent"), "action": ("action", "action"),
              "model": ("llm", "model"), "provider": ("llm", "provider")}
_NONE = "(none)"


@dataclass(frozen=True)
class GroupStats:
    """The figures of one group (`key`) of spans.

    Attributes:
        key: the group's value (an agent, action, model, provider; `actions` or `llm` overall).
        calls: spans measured; errors: those with an ERROR status; error_rate: errors / calls.
        p50_ms, p95_ms, p99_ms: latency percentiles (None without calls).
        llm_calls: LLM calls counted in the tokens and cost.
        tokens: tokens by class (input, output, cache_read, cache_write, reasoning).
        cost_usd: cost of those LLM calls, from the cost ledger.
    """

    key: str
    calls: int
    errors: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    llm_calls: int
    tokens: dict[str, int]
    cost_usd: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class MetricsReport:
    """Metrics over `[since, until)`: overall, then one list per dimension."""

    since: datetime | None
    until: datetime
    overall: tuple[GroupStats, ...]
    by: dict[str, tuple[GroupStats, ...]]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat(),
                "overall": [g.to_json() for g in self.overall],
                "by": {dim: [g.to_json() for g in groups] for dim, groups in self.by.items()}}


@dataclass(frozen=True)
class _Columns:
    kind: NDArray[Any]
    status: NDArray[Any]
    duration: NDArray[np.float64]
    tokens: dict[str, NDArray[np.int64]]
    cost: NDArray[np.float64]
    labels: dict[str, NDArray[Any]]

    @classmethod
    def of(cls, rows: Sequence[Sequence[Any]]) -> _Columns:
        cols = list(zip(*rows, strict=True)) if rows else [()] * 13

        def text(values: Iterable[Any]) -> NDArray[Any]:
            return np.array([v if v else _NONE for v in values], dtype=object)

        return cls(kind=np.array(cols[0], dtype=object), status=np.array(cols[1], dtype=object),
                   duration=np.array(cols[2], dtype=np.float64),
                   tokens={name: np.array(cols[3 + i], dtype=np.int64)
                           for i, name in enumerate(TOKEN_CLASSES)},
                   cost=np.array(cols[8], dtype=np.float64),
                   labels={"agent": text(cols[9]), "action": text(cols[10]),
                           "model": text(cols[11]), "provider": text(cols[12])})


def _stats(key: str, measured: NDArray[np.bool_], llm: NDArray[np.bool_],
           cols: _Columns) -> GroupStats:
    durations = cols.duration[measured]
    calls = int(durations.size)
    errors = int(np.count_nonzero(cols.status[measured] == "error"))
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None
    if calls:
        p50, p95, p99 = (float(v) for v in np.percentile(durations, [50, 95, 99]))
        mean = float(durations.mean())
    return GroupStats(
        key=key, calls=calls, errors=errors, error_rate=errors / calls if calls else 0.0,
        p50_ms=p50, p95_ms=p95, p99_ms=p99, mean_ms=mean, llm_calls=int(np.count_nonzero(llm)),
        tokens={name: int(values[llm].sum()) for name, values in cols.tokens.items()},
        cost_usd=float(cols.cost[llm].sum()))


def summarise(rows: Sequence[Sequence[Any]], *, since: datetime | None = None,
              until: datetime | None = None) -> MetricsReport:
    """Metrics from span rows `(kind, status, duration_ms, input, output, cache_read,
    cache_write, reasoning tokens, cost_usd, agent, action, model, provider)`."""
    cols = _Columns.of(rows)
    is_action = cols.kind == "action"
    is_llm = cols.kind == "llm"
    # The actions row carries the LLM calls made inside actions (they are labelled with it);
    # an agent's turns and the endpoint's calls belong to no action and count on `llm` only.
    in_actions = is_llm & (cols.labels["action"] != _NONE)
    overall = (_stats("actions", is_action, in_actions, cols),
               _stats("llm", is_llm, is_llm, cols))
    by: dict[str, tuple[GroupStats, ...]] = {}
    for dim, (measured_kind, column) in DIMENSIONS.items():
        labels = cols.labels[column]
        measured = cols.kind == measured_kind
        groups = []
        for key in sorted(set(labels[measured | is_llm].tolist())):
            in_group = labels == key
            if not np.any(in_group & measured):
                continue  # LLM calls made outside any action have no agent or action
            groups.append(_stats(key, in_group & measured, in_group & is_llm, cols))
        by[dim] = tuple(sorted(groups, key=lambda g: (-g.calls, g.key)))
    return MetricsReport(since, until or datetime.now(UTC), overall, by)


async def compute_metrics(store: Store, *, since: datetime | None = None,
                          until: datetime | None = None) -> MetricsReport:
    """Metrics of the spans that started in `[since, until)` (all stored spans by default)."""
    until = until or datetime.now(UTC)
    query = (select(spans.c.kind, spans.c.status, spans.c.duration_ms, spans.c.input_tokens,
                    spans.c.output_tokens, spans.c.cache_read_tokens,
                    spans.c.cache_write_tokens, spans.c.reasoning_tokens, spans.c.cost_usd,
                    spans.c.agent, spans.c.action, spans.c.model, spans.c.provider)
             .where(spans.c.kind.in_(("action", "llm")))
             .where(spans.c.start_ns < to_ns(until)))
    if since is not None:
        query = query.where(spans.c.start_ns >= to_ns(since))
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
        by_user = await _ledger_by(conn, "user", since, until)
        by_key = await _ledger_by(conn, "api_key", since, until)
        by_tenant = await _ledger_by(conn, "tenant", since, until)
    report = summarise([tuple(row) for row in rows], since=since, until=until)
    report.by["user"] = by_user
    report.by["key"] = by_key
    report.by["tenant"] = by_tenant
    return report


async def _ledger_by(conn: Any, column: str, since: datetime | None,
                     until: datetime) -> tuple[GroupStats, ...]:
    """LLM calls by user, API key id or tenant (`column`), from the cost ledger: the cost each
    call was charged (calls made for no user, with no key or for no tenant are left out)."""
    group = llm_calls.c[column]
    query = (select(group, llm_calls.c.status, llm_calls.c.latency_s,
                    llm_calls.c.input_tokens, llm_calls.c.output_tokens,
                    llm_calls.c.cache_read_tokens, llm_calls.c.cache_write_tokens,
                    llm_calls.c.reasoning_tokens, llm_calls.c.cost_usd)
             .where(group.is_not(None)).where(llm_calls.c.at < until))
    if since is not None:
        query = query.where(llm_calls.c.at >= since)
    rows = [("llm", "error" if r[1] == "error" else "ok", (r[2] or 0.0) * 1000.0, *r[3:9],
             None, None, r[0], None) for r in (await conn.execute(query)).all()]
    cols = _Columns.of(rows)
    labels = cols.labels["model"]  # the user or key sits in the model slot of these rows
    groups = [_stats(str(key), labels == key, labels == key, cols)
              for key in sorted(set(labels.tolist()))]
    return tuple(sorted(groups, key=lambda g: (-g.calls, g.key)))
