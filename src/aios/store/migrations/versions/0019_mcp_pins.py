"""MCP gateway: pinned upstream tool definitions (`mcp_pins`) and open tool calls (`mcp_calls`).

Revision ID: 0019_mcp_pins
Revises: 0017_approvals_withdrawn
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_mcp_pins"
down_revision = "0017_approvals_withdrawn"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mcp_pins",
        sa.Column("server", sa.String(100), primary_key=True),
        sa.Column("tool", sa.String(200), primary_key=True),
        sa.Column("pinned_hash", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("pending_hash", sa.String(64), nullable=True),
        sa.Column("pending_definition", sa.JSON, nullable=True),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trusted_by", sa.String(200), nullable=True),
    )
    op.create_table(
        "mcp_calls",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("call_key", sa.String(64), nullable=False),
        sa.Column("tool", sa.String(200), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_mcp_calls_key", "mcp_calls", ["call_key", "status"])


def downgrade() -> None:
    op.drop_index("ix_mcp_calls_key", table_name="mcp_calls")
    op.drop_table("mcp_calls")
    op.drop_table("mcp_pins")
