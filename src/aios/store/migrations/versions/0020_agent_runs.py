"""Agent runs: the conversation of each run of kind `agent` (table `agent_turns`).

Revision ID: 0020_agent_runs
Revises: 0017_approvals_withdrawn
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_agent_runs"
down_revision = "0017_approvals_withdrawn"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_turns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("uq_agent_turns_run_seq", "agent_turns", ["run_id", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_agent_turns_run_seq", table_name="agent_turns")
    op.drop_table("agent_turns")
