"""Model gateway: the cost ledger (one row per LLM call).

Revision ID: 0002_gateway
Revises: 0001_core
"""

from alembic import op

from aios.store.columns import boolean, integer, number, row_id, string, text, timestamp

revision = "0002_gateway"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "llm_calls",
        row_id(),
        timestamp("at"),
        string("run_id", 32, null=True),
        string("agent", 200, null=True),
        string("action", 200, null=True),
        string("tenant", 200, null=True),
        string("user", 200, null=True),
        string("model", 200),
        string("model_id", 200),
        string("provider", 64),
        integer("input_tokens"),
        integer("output_tokens"),
        integer("cache_read_tokens"),
        integer("cache_write_tokens"),
        integer("reasoning_tokens"),
        boolean("counted"),
        number("cost_usd"),
        number("latency_s", null=True),
        number("ttft_s", null=True),
        boolean("cached"),
        boolean("stream"),
        string("status", 16),
        text("error", null=True),
        text("route_reason", null=True),
    )
    op.create_index("ix_llm_calls_at", "llm_calls", ["at"])
    op.create_index("ix_llm_calls_run", "llm_calls", ["run_id"])
    op.create_index("ix_llm_calls_tenant", "llm_calls", ["tenant", "at"])
    op.create_index("ix_llm_calls_user", "llm_calls", ["user", "at"])


def downgrade() -> None:
    op.drop_table("llm_calls")
