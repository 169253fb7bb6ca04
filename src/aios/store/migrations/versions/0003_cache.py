"""Response cache: one row per cached LLM answer (table `llm_cache`).

Revision ID: 0003_cache
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_cache"
down_revision = "0001_core"
branch_labels = None  # a branch of its own (down_revision 0001_core); a label equal to the
# revision id is rejected by Alembic
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_cache",
        sa.Column("namespace", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("semantic", sa.Boolean, nullable=False),
        sa.Column("embedder", sa.String(100), nullable=True),
        sa.Column("vector", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_llm_cache_created", "llm_cache", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_llm_cache_created", table_name="llm_cache")
    op.drop_table("llm_cache")
