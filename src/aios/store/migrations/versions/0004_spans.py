"""Observability: the `spans` table written by the store span exporter.

Revision ID: 0004_spans
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_spans"
down_revision = "0001_core"
branch_labels = None  # a branch of its own: down_revision is 0001_core
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spans",
        sa.Column("trace_id", sa.String(32), primary_key=True),
        sa.Column("span_id", sa.String(16), primary_key=True),
        sa.Column("parent_id", sa.String(16), nullable=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("span_kind", sa.String(12), nullable=False),
        sa.Column("start_ns", sa.BigInteger, nullable=False),
        sa.Column("end_ns", sa.BigInteger, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("agent", sa.String(100), nullable=True),
        sa.Column("action", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("provider", sa.String(100), nullable=True),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cache_read_tokens", sa.Integer, nullable=False),
        sa.Column("cache_write_tokens", sa.Integer, nullable=False),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_spans_start", "spans", ["start_ns"])
    op.create_index("ix_spans_run", "spans", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_spans_run", table_name="spans")
    op.drop_index("ix_spans_start", table_name="spans")
    op.drop_table("spans")
