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

from alembic import op

from aios.store.alter import add_columns, drop_columns
from aios.store.columns import integer, json, number, string

revision = "0022_keys_limits"
down_revision = ("0002_gateway", "0021_approval_channels")


def upgrade() -> None:
    add_columns("api_tokens", integer("rpm", null=True), integer("tpm", null=True),
                number("budget_usd", null=True), string("budget_period", 8, null=True),
                json("models", null=True))
    add_columns("llm_calls", string("api_key", 16, null=True))
    op.create_index("ix_llm_calls_api_key", "llm_calls", ["api_key", "at"])


def downgrade() -> None:
    op.drop_index("ix_llm_calls_api_key", table_name="llm_calls")
    drop_columns("llm_calls", "api_key")
    drop_columns("api_tokens", "models", "budget_period", "budget_usd", "tpm", "rpm")
