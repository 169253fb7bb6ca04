"""Cost and latency over time, by agent and by model, from the stored spans (for charts).

The window is cut into equal buckets; in each, a group's cost is the sum of its LLM calls'
cost and its latency the 95th percentile of its spans' durations (action spans for agents,
LLM spans for models). Groups are the `top` ones by calls; the rest are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from aios.errors import ConfigError
from aios.observability.table import spans
from aios.observability.window import to_ns
from aios.store.engine import Store

__all__ = ["DIMENSIONS", "Series", "TimeSeries", "time_series"]

#: Breakdown -> (span kind whose durations are its latency, column grouped on).
DIMENSIONS: dict[str, tuple[str, str]] = {"agent": ("action", "agent"),
                                          "model": ("llm", "model")}


@dataclass(frozen=True)
class Series:
    """One group's values, one per bucket; latency is None in buckets without calls."""

    key: str
    calls: tuple[int, ...]
    cost_usd: tuple[float, ...]
    p95_ms: tuple[float | None, ...]


@dataclass(frozen=True)
class TimeSeries:
    """Buckets starting at `starts`, each `bucket_seconds` long, and the series by dimension."""

    since: datetime
    until: datetime
    bucket_seconds: float
    starts: tuple[datetime, ...]
    by: dict[str, tuple[Series, ...]]


def _series(key: str, bucket: NDArray[np.int64], duration: NDArray[np.float64],
            cost: NDArray[np.float64], measured: NDArray[np.bool_], llm: NDArray[np.bool_],
            n: int) -> Series:
    calls = np.bincount(bucket[measured], minlength=n)[:n]
    spent = np.bincount(bucket[llm], weights=cost[llm], minlength=n)[:n]
    p95: list[float | None] = []
    for i in range(n):
        values = duration[measured & (bucket == i)]
        p95.append(float(np.percentile(values, 95)) if values.size else None)
    return Series(key, tuple(int(c) for c in calls), tuple(float(c) for c in spent), tuple(p95))


async def time_series(store: Store, *, since: datetime, until: datetime | None = None,
                      buckets: int = 24, top: int = 6) -> TimeSeries:
    """Cost and P95 latency per bucket of `[since, until)`, by agent and by model.

    Raises:
        ConfigError: an empty window, or `buckets` outside 1..500.
    """
    until = until or datetime.now(UTC)
    if not 1 <= buckets <= 500:
        raise ConfigError(f"buckets must be between 1 and 500, got {buckets}")
    if until <= since:
        raise ConfigError(f"the window is empty: since {since.isoformat()} is not before "
                          f"{until.isoformat()}; give an earlier `since`")
    start_ns, end_ns = to_ns(since), to_ns(until)
    width = max(1, -(-(end_ns - start_ns) // buckets))  # ceiling division: covers `until`
    query = (select(spans.c.start_ns, spans.c.kind, spans.c.duration_ms, spans.c.cost_usd,
                    spans.c.agent, spans.c.model)
             .where(spans.c.kind.in_(("action", "llm")), spans.c.start_ns >= start_ns,
                    spans.c.start_ns < end_ns))
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    bucket = (np.array(cols[0], dtype=np.int64) - start_ns) // width
    kind = np.array(cols[1], dtype=object)
    duration = np.array(cols[2], dtype=np.float64)
    cost = np.array(cols[3], dtype=np.float64)
    labels = {"agent": np.array([v or "(none)" for v in cols[4]], dtype=object),
              "model": np.array([v or "(none)" for v in cols[5]], dtype=object)}
    is_llm = kind == "llm"
    by: dict[str, tuple[Series, ...]] = {}
    for dim, (measured_kind, column) in DIMENSIONS.items():
        measured_all = kind == measured_kind
        label = labels[column]
        counts: dict[str, int] = {}
        for key in label[measured_all].tolist():
            counts[key] = counts.get(key, 0) + 1
        keys = sorted(counts, key=lambda k: (-counts[k], k))[:top]
        by[dim] = tuple(_series(k, bucket, duration, cost, measured_all & (label == k),
                                is_llm & (label == k), buckets) for k in keys)
    starts = tuple(since + timedelta(microseconds=i * width / 1000) for i in range(buckets))
    return TimeSeries(since, until, width / 1e9, starts, by)
