"""The `spans` table: one row per finished span, with denormalised columns for metrics.

Times are integer nanoseconds since the epoch (the OpenTelemetry unit): exact, portable across
SQLite and PostgreSQL, and cheap to compare in window queries. `attributes` and `events` hold
JSON text written by the exporter, so inserting a span needs no per-row type conversion.
"""

from __future__ import annotations

from sqlalchemy import Index, Table

from aios.store import columns as col
from aios.store.tables import metadata

__all__ = ["spans"]

spans = Table(
    "spans",
    metadata,
    col.string("trace_id", 32, primary_key=True),
    col.string("span_id", 16, primary_key=True),
    col.string("parent_id", 16, null=True),
    col.string("name", 300),
    # What the span stands for: run, action, llm, approval, guardrail, retry, other.
    col.string("kind", 16),
    col.string("span_kind", 12),  # OpenTelemetry SpanKind
    col.big_integer("start_ns"),
    col.big_integer("end_ns"),
    col.number("duration_ms"),
    col.string("status", 8),  # unset | ok | error
    col.text("attributes"),
    col.text("events"),
    col.string("run_id", 64, null=True),
    col.string("agent", 100, null=True),
    col.string("action", 200, null=True),
    col.string("model", 200, null=True),
    col.string("provider", 100, null=True),
    col.integer("input_tokens"),
    col.integer("output_tokens"),
    col.integer("cache_read_tokens"),
    col.integer("cache_write_tokens"),
    col.integer("reasoning_tokens"),
    col.number("cost_usd"),
    col.text("error", null=True),
    Index("ix_spans_start", "start_ns"),
    Index("ix_spans_run", "run_id"),
)
