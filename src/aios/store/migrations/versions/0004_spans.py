"""Observability: the `spans` table written by the store span exporter.

Revision ID: 0004_spans
Revises: 0001_core
"""

from alembic import op

from aios.store.columns import big_integer, integer, number, string, text

revision = "0004_spans"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "spans",
        string("trace_id", 32, primary_key=True),
        string("span_id", 16, primary_key=True),
        string("parent_id", 16, null=True),
        string("name", 300),
        string("kind", 16),
        string("span_kind", 12),
        big_integer("start_ns"),
        big_integer("end_ns"),
        number("duration_ms"),
        string("status", 8),
        text("attributes"),
        text("events"),
        string("run_id", 64, null=True),
        string("agent", 100, null=True),
        string("action", 200, null=True),
        string("model", 200, null=True),
        string("provider", 100, null=True),
        integer("input_tokens"),
        integer("output_tokens"),
        integer("cache_read_tokens"),
        integer("cache_write_tokens"),
        integer("reasoning_tokens"),
        number("cost_usd"),
        text("error", null=True),
    )
    op.create_index("ix_spans_start", "spans", ["start_ns"])
    op.create_index("ix_spans_run", "spans", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_spans_run", table_name="spans")
    op.drop_index("ix_spans_start", table_name="spans")
    op.drop_table("spans")
