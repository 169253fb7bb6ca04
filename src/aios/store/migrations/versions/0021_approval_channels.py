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

from alembic import op

from aios.store.alter import add_columns, drop_columns
from aios.store.columns import integer, json, row_id, string, text, timestamp

revision = "0021_approval_channels"
down_revision = ("0018_hardening", "0019_mcp_pins", "0020_agent_runs")


def upgrade() -> None:
    op.create_table(
        "approval_deliveries",
        row_id(),
        string("request_id", 32),
        string("run_id", 32),
        string("event", 16),
        string("channel", 100),
        text("target"),
        integer("attempt"),
        string("status", 16),
        text("detail"),
        timestamp("at"),
    )
    op.create_index("ix_approval_deliveries_request", "approval_deliveries", ["request_id"])
    op.create_index("ix_approval_deliveries_status", "approval_deliveries",
                    ["status", "channel"])
    op.create_table(
        "approval_links",
        string("id", 32, primary_key=True),
        string("request_id", 32),
        string("user_name", 100),
        timestamp("created_at"),
        timestamp("expires_at"),
        timestamp("used_at", null=True),
    )
    op.create_index("ix_approval_links_request", "approval_links", ["request_id"])
    op.create_table(
        "approval_secrets",
        string("name", 100, primary_key=True),
        text("value"),
        timestamp("created_at"),
    )

    add_columns("approval_requests", json("preview", null=True),
                string("preview_hash", 64, null=True))
    op.create_table(
        "slack_users",
        string("slack_id", 32, primary_key=True),
        string("user_name", 100),
        timestamp("created_at"),
    )


def downgrade() -> None:
    op.drop_table("slack_users")
    drop_columns("approval_requests", "preview_hash", "preview")
    op.drop_table("approval_secrets")
    op.drop_index("ix_approval_links_request", table_name="approval_links")
    op.drop_table("approval_links")
    op.drop_index("ix_approval_deliveries_status", table_name="approval_deliveries")
    op.drop_index("ix_approval_deliveries_request", table_name="approval_deliveries")
    op.drop_table("approval_deliveries")
