"""Core tables: runs, step events, run metadata, idempotency records.

Revision ID: 0001_core
Revises:
"""

from alembic import op

from aios.store.columns import boolean, integer, json, number, row_id, string, text, timestamp

revision = "0001_core"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "runs",
        string("id", 32, primary_key=True),
        string("kind", 16),
        string("target", 200),
        string("status", 16),
        boolean("forensic"),
        string("manifest_name", 200),
        text("manifest_path", null=True),
        string("manifest_digest", 32),
        json("options"),
        text("error", null=True),
        integer("pid", null=True),
        string("host", 200, null=True),
        timestamp("created_at"),
        timestamp("finished_at", null=True),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_table(
        "step_events",
        row_id(),
        string("run_id", 32),
        string("step_id", 200),
        string("action", 200),
        string("status", 16),
        integer("attempt"),
        timestamp("at"),
        number("duration_ms", null=True),
        json("result", null=True),
        text("error", null=True),
    )
    op.create_index("ix_step_events_run", "step_events", ["run_id", "id"])
    op.create_table(
        "run_metadata",
        row_id(),
        string("run_id", 32),
        string("action", 200),
        string("key", 200),
        json("value", null=True),
        timestamp("at"),
    )
    op.create_index("ix_run_metadata_run", "run_metadata", ["run_id", "id"])
    op.create_table(
        "idempotency",
        string("key", 64, primary_key=True),
        string("run_id", 32),
        string("step_id", 200),
        string("action", 200),
        string("status", 16),
        json("result", null=True),
        text("error", null=True),
        timestamp("created_at"),
        timestamp("finished_at", null=True),
    )


def downgrade() -> None:
    for table in ("idempotency", "run_metadata", "step_events", "runs"):
        op.drop_table(table)
