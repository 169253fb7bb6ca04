"""Cost and latency per time bucket, by agent and model, from stored spans (both stores)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from aios.errors import ConfigError
from aios.observability.table import spans
from aios.observability.window import to_ns
from aios.server.timeseries import time_series
from aios.store import Store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _span(i: int, at: datetime, kind: str, duration: float, *, agent: str | None = None,
          model: str | None = None, cost: float = 0.0) -> dict[str, object]:
    start = to_ns(at)
    return {"trace_id": f"{i:032x}", "span_id": f"{i:016x}", "parent_id": None,
            "name": f"{kind} {i}", "kind": kind, "span_kind": "INTERNAL", "start_ns": start,
            "end_ns": start + int(duration * 1e6), "duration_ms": duration, "status": "ok",
            "attributes": "{}", "events": "[]", "run_id": None, "agent": agent,
            "action": None, "model": model, "provider": None, "input_tokens": 0,
            "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0,
            "reasoning_tokens": 0, "cost_usd": cost, "error": None}


async def test_buckets_hold_the_cost_and_p95_of_their_spans(store: Store) -> None:
    rows = [
        _span(1, T0 + timedelta(minutes=5), "action", 100.0, agent="kernel"),
        _span(2, T0 + timedelta(minutes=10), "action", 300.0, agent="kernel"),
        _span(3, T0 + timedelta(minutes=70), "action", 50.0, agent="storage"),
        _span(4, T0 + timedelta(minutes=71), "llm", 900.0, agent="storage", model="m1",
              cost=0.25),
        _span(5, T0 + timedelta(minutes=130), "llm", 500.0, agent="kernel", model="m1",
              cost=0.5),
        _span(6, T0 - timedelta(minutes=1), "action", 1.0, agent="kernel"),  # before
    ]
    async with store.engine.begin() as conn:
        await conn.execute(insert(spans), rows)
    found = await time_series(store, since=T0, until=T0 + timedelta(hours=3), buckets=3)
    assert found.bucket_seconds == 3600 and found.starts[1] == T0 + timedelta(hours=1)
    kernel, storage = found.by["agent"]
    assert (kernel.key, kernel.calls) == ("kernel", (2, 0, 0))
    assert kernel.p95_ms[0] == pytest.approx(290.0) and kernel.p95_ms[1] is None
    assert kernel.cost_usd == (0.0, 0.0, 0.5)  # its LLM call in the third hour
    assert storage.calls == (0, 1, 0) and storage.cost_usd == (0.0, 0.25, 0.0)
    [m1] = found.by["model"]
    assert m1.calls == (0, 1, 1) and m1.p95_ms[1:] == (900.0, 500.0)


async def test_an_empty_window_is_refused(store: Store) -> None:
    with pytest.raises(ConfigError, match="window is empty"):
        await time_series(store, since=T0, until=T0)
    empty = await time_series(store, since=T0, until=T0 + timedelta(hours=1), buckets=4)
    assert empty.by == {"agent": (), "model": ()} and len(empty.starts) == 4
