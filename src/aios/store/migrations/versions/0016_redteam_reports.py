"""Red-team reports kept by the server (table `redteam_reports`).

Revision ID: 0016_redteam_reports
Revises: 0001_core
"""

from alembic import op

from aios.store.columns import json, string, text, timestamp

revision = "0016_redteam_reports"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "redteam_reports",
        string("id", 32, primary_key=True),
        string("target", 500),
        string("status", 16),
        string("source", 16),
        string("requested_by", 100),
        json("options"),
        json("summary", null=True),
        json("report", null=True),
        text("error", null=True),
        timestamp("created_at"),
        timestamp("finished_at", null=True),
    )
    op.create_index("ix_redteam_reports_created", "redteam_reports", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_redteam_reports_created", table_name="redteam_reports")
    op.drop_table("redteam_reports")
