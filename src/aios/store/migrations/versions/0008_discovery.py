"""Discovery missions: missions, their step records, named knowledge graphs.

Revision ID: 0008_discovery
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

from aios.store.columns import integer, json, row_id, string, text, timestamp

revision = "0008_discovery"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "discovery_missions",
        string("id", 32, primary_key=True),
        text("question"),
        json("config"),
        string("graph_name", 200),
        string("status", 16),
        text("stop_reason", null=True),
        integer("step"),
        json("state"),
        text("error", null=True),
        timestamp("created_at"),
        timestamp("updated_at"),
    )
    op.create_index("ix_discovery_missions_created", "discovery_missions", ["created_at"])
    op.create_table(
        "discovery_steps",
        row_id(),
        string("mission_id", 32),
        integer("step"),
        timestamp("at"),
        json("record"),
        sa.UniqueConstraint("mission_id", "step", name="uq_discovery_steps_mission_step"),
    )
    op.create_table(
        "discovery_graphs",
        string("name", 200, primary_key=True),
        json("data"),
        integer("version"),
        timestamp("updated_at"),
    )


def downgrade() -> None:
    for table in ("discovery_graphs", "discovery_steps", "discovery_missions"):
        op.drop_table(table)
