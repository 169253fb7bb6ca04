"""The tenant an API key acts for.

- `api_tokens.tenant`: the tenant of every call made with the key on the OpenAI-compatible
  endpoint (tenant budgets, the cache namespace `tenant/user`, the ledger's `tenant`, traces,
  `aios metrics`); NULL: none, as before.

Revision ID: 0023_key_tenants
Revises: 0022_keys_limits
"""


from aios.store.alter import add_columns, drop_columns
from aios.store.columns import string

revision = "0023_key_tenants"
down_revision = "0022_keys_limits"


def upgrade() -> None:
    add_columns("api_tokens", string("tenant", 200, null=True))


def downgrade() -> None:
    drop_columns("api_tokens", "tenant")
