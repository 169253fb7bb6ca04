"""API keys with their own limits, and the key each LLM call came with.

- `api_tokens.rpm`, `.tpm`: the key's own requests and tokens per minute on the
  OpenAI-compatible endpoint (NULL: the manifest's `endpoint:` values for its user).
- `api_tokens.budget_usd`, `.budget_period`: the key's own dollar budget (`total`, `day` or
  `month`; NULL: none).
- `api_tokens.models`: the models, tiers or `auto` the key may ask for (NULL: any).
- `llm_calls.api_key`: the id of the key a call came with, so spend is attributed per key.

Revision ID: 0022_keys_limits
Revises: 0002_gateway (llm_calls), 0021_approval_channels (api_tokens): it joins those two
branches
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_keys_limits"
down_revision = ("0002_gateway", "0021_approval_channels")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("rpm", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tpm", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("budget_usd", sa.Float(), nullable=True))
        batch.add_column(sa.Column("budget_period", sa.String(8), nullable=True))
        batch.add_column(sa.Column("models", sa.JSON(), nullable=True))
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(sa.Column("api_key", sa.String(16), nullable=True))
    op.create_index("ix_llm_calls_api_key", "llm_calls", ["api_key", "at"])


def downgrade() -> None:
    op.drop_index("ix_llm_calls_api_key", table_name="llm_calls")
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("api_key")
    with op.batch_alter_table("api_tokens") as batch:
        for name in ("models", "budget_period", "budget_usd", "tpm", "rpm"):
            batch.drop_column(name)
