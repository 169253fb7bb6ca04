"""Response cache: one row per cached LLM answer (table `llm_cache`).

Revision ID: 0003_cache
Revises: 0001_core
"""

from alembic import op

from aios.store.columns import binary, boolean, json, number, string, text, timestamp

revision = "0003_cache"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "llm_cache",
        string("namespace", 200, primary_key=True),
        string("key", 64, primary_key=True),
        string("bucket", 64),
        string("model", 200),
        text("prompt"),
        json("response"),
        number("cost_usd"),
        boolean("semantic"),
        string("embedder", 100, null=True),
        binary("vector", null=True),
        timestamp("created_at"),
        timestamp("expires_at", null=True),
    )
    op.create_index("ix_llm_cache_created", "llm_cache", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_llm_cache_created", table_name="llm_cache")
    op.drop_table("llm_cache")
