"""Agent runs: the conversation of each run of kind `agent` (table `agent_turns`).

Revision ID: 0020_agent_runs
Revises: 0017_approvals_withdrawn
"""

from alembic import op

from aios.store.columns import integer, json, row_id, string, timestamp

revision = "0020_agent_runs"
down_revision = "0017_approvals_withdrawn"


def upgrade() -> None:
    op.create_table(
        "agent_turns",
        row_id(),
        string("run_id", 32),
        integer("seq"),
        string("kind", 16),
        json("data"),
        timestamp("at"),
    )
    op.create_index("uq_agent_turns_run_seq", "agent_turns", ["run_id", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_agent_turns_run_seq", table_name="agent_turns")
    op.drop_table("agent_turns")
