"""Discovery missions: missions, their step records, named knowledge graphs.

Revision ID: 0008_discovery
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_discovery"
down_revision = "0001_core"
branch_labels = None  # a branch of its own: down_revision is 0001_core (a label equal to the
# revision id clashes in Alembic)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "discovery_missions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("graph_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stop_reason", sa.Text, nullable=True),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_discovery_missions_created", "discovery_missions", ["created_at"])
    op.create_table(
        "discovery_steps",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("mission_id", sa.String(32), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.UniqueConstraint("mission_id", "step", name="uq_discovery_steps_mission_step"),
    )
    op.create_table(
        "discovery_graphs",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("discovery_graphs", "discovery_steps", "discovery_missions"):
        op.drop_table(table)
