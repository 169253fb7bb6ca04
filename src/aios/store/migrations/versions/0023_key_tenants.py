"""The tenant an API key acts for.

- `api_tokens.tenant`: the tenant of every call made with the key on the OpenAI-compatible
  endpoint (tenant budgets, the cache namespace `tenant/user`, the ledger's `tenant`, traces,
  `aios metrics`); NULL: none, as before.

Revision ID: 0023_key_tenants
Revises: 0022_keys_limits
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_key_tenants"
down_revision = "0022_keys_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("tenant", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("tenant")
