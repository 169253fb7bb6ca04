"""Approvals: delivery attempts of the channels, one-click links, the link-signing key.

- `approval_deliveries`: one row per attempt of one message to one channel.
- `approval_links`: each one-click link issued (per approver and request), to make it
  single-use: `used_at` is set by the first use, in a conditional UPDATE.
- `approval_secrets`: the key links are signed with when `AIOS_LINK_SECRET` is not set.
- `slack_users`: which Ai:oS user a Slack user is (`aios users link-slack`).
- `approval_requests.preview`, `.preview_hash`: the output of an action's `preview:` handler.

Revision ID: 0021_approval_channels
Revises: 0018_hardening, 0019_mcp_pins, 0020_agent_runs (it joins the heads that branched
from 0017_approvals_withdrawn, so there is one head again)
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_approval_channels"
down_revision = ("0018_hardening", "0019_mcp_pins", "0020_agent_runs")
branch_labels = None
depends_on = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "approval_deliveries",
        sa.Column("id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_approval_deliveries_request", "approval_deliveries", ["request_id"])
    op.create_index("ix_approval_deliveries_status", "approval_deliveries",
                    ["status", "channel"])
    op.create_table(
        "approval_links",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_approval_links_request", "approval_links", ["request_id"])
    op.create_table(
        "approval_secrets",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )

    with op.batch_alter_table("approval_requests") as batch:
        batch.add_column(sa.Column("preview", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("preview_hash", sa.String(64), nullable=True))
    op.create_table(
        "slack_users",
        sa.Column("slack_id", sa.String(32), primary_key=True),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_users")
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_column("preview_hash")
        batch.drop_column("preview")
    op.drop_table("approval_secrets")
    op.drop_index("ix_approval_links_request", table_name="approval_links")
    op.drop_table("approval_links")
    op.drop_index("ix_approval_deliveries_status", table_name="approval_deliveries")
    op.drop_index("ix_approval_deliveries_request", table_name="approval_deliveries")
    op.drop_table("approval_deliveries")
