"""Table definitions of the core store (runs, steps, metadata, idempotency records).

Subsystems that add tables define them on the same `metadata` in their own module under
`aios/store/` and add an Alembic revision; the migrations, not `create_all`, build the schema.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from aios.store.types import UTCDateTime

__all__ = ["ROW_ID", "idempotency", "metadata", "run_metadata", "runs", "step_events"]

metadata = MetaData()

#: An auto-increment row id: BIGINT on PostgreSQL, INTEGER on SQLite (whose rowid alias
#: must be exactly INTEGER to autoincrement).
ROW_ID = BigInteger().with_variant(Integer, "sqlite")

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),  # "sequence" | "action"
    Column("target", String(200), nullable=False),  # sequence name or agent.key
    Column("status", String(16), nullable=False),
    Column("forensic", Boolean, nullable=False, default=False),
    Column("manifest_name", String(200), nullable=False, default=""),
    Column("manifest_path", Text, nullable=True),
    Column("manifest_digest", String(32), nullable=False, default=""),
    Column("options", JSON, nullable=False, default=dict),
    Column("error", Text, nullable=True),
    Column("pid", Integer, nullable=True),
    Column("host", String(200), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    # Who started the run and who resumed it since (0018): none of them may approve the
    # approval requests the run files; the initiator is their requester.
    Column("initiator", String(200), nullable=True),
    Column("resumed_by", JSON, nullable=True),
    # When the process the row names last said it still executes the run (0024); NULL once
    # the run stopped. A resume elsewhere is refused while it is fresh.
    Column("heartbeat_at", UTCDateTime(), nullable=True),
    Index("ix_runs_created_at", "created_at"),
)

# Append-only: one row per state change of a step. The latest row of a step is its state.
step_events = Table(
    "step_events",
    metadata,
    Column("id", ROW_ID, primary_key=True,
           autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("step_id", String(200), nullable=False),
    Column("action", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempt", Integer, nullable=False, default=1),
    Column("at", UTCDateTime(), nullable=False),
    Column("duration_ms", Float, nullable=True),
    Column("result", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_step_events_run", "run_id", "id"),
)

run_metadata = Table(
    "run_metadata",
    metadata,
    Column("id", ROW_ID, primary_key=True,
           autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("action", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("value", JSON, nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_run_metadata_run", "run_id", "id"),
)

# Written (and committed) before a mutating action executes: the guard against running twice.
idempotency = Table(
    "idempotency",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("run_id", String(32), nullable=False),
    Column("step_id", String(200), nullable=False),
    Column("action", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # started | succeeded | failed
    Column("result", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
)
