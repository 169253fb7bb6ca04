"""Model gateway: the cost ledger (one row per LLM call).

Revision ID: 0002_gateway
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_gateway"
down_revision = "0001_core"
branch_labels = None  # a branch of its own (down_revision 0001_core); a label equal to the
# revision id is rejected by Alembic
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "llm_calls",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("agent", sa.String(200), nullable=True),
        sa.Column("action", sa.String(200), nullable=True),
        sa.Column("tenant", sa.String(200), nullable=True),
        sa.Column("user", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cache_read_tokens", sa.Integer, nullable=False),
        sa.Column("cache_write_tokens", sa.Integer, nullable=False),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False),
        sa.Column("counted", sa.Boolean, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("latency_s", sa.Float, nullable=True),
        sa.Column("ttft_s", sa.Float, nullable=True),
        sa.Column("cached", sa.Boolean, nullable=False),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("route_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_llm_calls_at", "llm_calls", ["at"])
    op.create_index("ix_llm_calls_run", "llm_calls", ["run_id"])
    op.create_index("ix_llm_calls_tenant", "llm_calls", ["tenant", "at"])
    op.create_index("ix_llm_calls_user", "llm_calls", ["user", "at"])


def downgrade() -> None:
    op.drop_table("llm_calls")
