"""The `spans` table: one row per finished span, with denormalised columns for metrics.

Times are integer nanoseconds since the epoch (the OpenTelemetry unit): exact, portable across
SQLite and PostgreSQL, and cheap to compare in window queries. `attributes` and `events` hold
JSON text written by the exporter, so inserting a span needs no per-row type conversion.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, Text

from aios.store.tables import metadata

__all__ = ["spans"]

spans = Table(
    "spans",
    metadata,
    Column("trace_id", String(32), primary_key=True),
    Column("span_id", String(16), primary_key=True),
    Column("parent_id", String(16), nullable=True),
    Column("name", String(300), nullable=False),
    # What the span stands for: run, action, llm, approval, guardrail, retry, other.
    Column("kind", String(16), nullable=False),
    Column("span_kind", String(12), nullable=False),  # OpenTelemetry SpanKind
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("status", String(8), nullable=False),  # unset | ok | error
    Column("attributes", Text, nullable=False),
    Column("events", Text, nullable=False),
    Column("run_id", String(64), nullable=True),
    Column("agent", String(100), nullable=True),
    Column("action", String(200), nullable=True),
    Column("model", String(200), nullable=True),
    Column("provider", String(100), nullable=True),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cache_read_tokens", Integer, nullable=False),
    Column("cache_write_tokens", Integer, nullable=False),
    Column("reasoning_tokens", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("error", Text, nullable=True),
    Index("ix_spans_start", "start_ns"),
    Index("ix_spans_run", "run_id"),
)
