"""MCP gateway: pinned upstream tool definitions (`mcp_pins`) and open tool calls (`mcp_calls`).

Revision ID: 0019_mcp_pins
Revises: 0017_approvals_withdrawn
"""

from alembic import op

from aios.store.columns import json, string, timestamp

revision = "0019_mcp_pins"
down_revision = "0017_approvals_withdrawn"


def upgrade() -> None:
    op.create_table(
        "mcp_pins",
        string("server", 100, primary_key=True),
        string("tool", 200, primary_key=True),
        string("pinned_hash", 64),
        json("definition"),
        string("pending_hash", 64, null=True),
        json("pending_definition", null=True),
        timestamp("pinned_at"),
        timestamp("changed_at", null=True),
        string("trusted_by", 200, null=True),
    )
    op.create_table(
        "mcp_calls",
        string("id", 32, primary_key=True),
        string("call_key", 64),
        string("tool", 200),
        string("requester", 200),
        string("run_id", 32),
        string("status", 16),
        timestamp("created_at"),
        timestamp("delivered_at", null=True),
    )
    op.create_index("ix_mcp_calls_key", "mcp_calls", ["call_key", "status"])


def downgrade() -> None:
    op.drop_index("ix_mcp_calls_key", table_name="mcp_calls")
    op.drop_table("mcp_calls")
    op.drop_table("mcp_pins")
