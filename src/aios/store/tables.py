"""Table definitions of the core store (runs, steps, metadata, idempotency records).

Subsystems that add tables define them on the same `metadata` in their own module under
`aios/store/` and add an Alembic revision; the migrations, not `create_all`, build the schema.
"""

from __future__ import annotations

from sqlalchemy import Index, MetaData, Table

from aios.store import columns as col
from aios.store.columns import ROW_ID

__all__ = ["ROW_ID", "idempotency", "metadata", "run_metadata", "runs", "step_events"]

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    col.string("id", 32, primary_key=True),
    col.string("kind", 16),  # "sequence" | "action"
    col.string("target", 200),  # sequence name or agent.key
    col.string("status", 16),
    col.boolean("forensic", default=False),
    col.string("manifest_name", 200, default=""),
    col.text("manifest_path", null=True),
    col.string("manifest_digest", 32, default=""),
    col.json("options", default=dict),
    col.text("error", null=True),
    col.integer("pid", null=True),
    col.string("host", 200, null=True),
    col.timestamp("created_at"),
    col.timestamp("finished_at", null=True),
    # Who started the run and who resumed it since (0018): none of them may approve the
    # approval requests the run files; the initiator is their requester.
    col.string("initiator", 200, null=True),
    col.json("resumed_by", null=True),
    # When the process the row names last said it still executes the run (0024); NULL once
    # the run stopped. A resume elsewhere is refused while it is fresh.
    col.timestamp("heartbeat_at", null=True),
    Index("ix_runs_created_at", "created_at"),
)

# Append-only: one row per state change of a step. The latest row of a step is its state.
step_events = Table(
    "step_events",
    metadata,
    col.row_id(),
    col.string("run_id", 32),
    col.string("step_id", 200),
    col.string("action", 200),
    col.string("status", 16),
    col.integer("attempt", default=1),
    col.timestamp("at"),
    col.number("duration_ms", null=True),
    col.json("result", null=True),
    col.text("error", null=True),
    Index("ix_step_events_run", "run_id", "id"),
)

run_metadata = Table(
    "run_metadata",
    metadata,
    col.row_id(),
    col.string("run_id", 32),
    col.string("action", 200),
    col.string("key", 200),
    col.json("value", null=True),
    col.timestamp("at"),
    Index("ix_run_metadata_run", "run_id", "id"),
)

# Written (and committed) before a mutating action executes: the guard against running twice.
idempotency = Table(
    "idempotency",
    metadata,
    col.string("key", 64, primary_key=True),
    col.string("run_id", 32),
    col.string("step_id", 200),
    col.string("action", 200),
    col.string("status", 16),  # started | succeeded | failed
    col.json("result", null=True),
    col.text("error", null=True),
    col.timestamp("created_at"),
    col.timestamp("finished_at", null=True),
)
