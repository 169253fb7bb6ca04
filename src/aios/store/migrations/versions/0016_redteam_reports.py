"""Red-team reports kept by the server (table `redteam_reports`).

Revision ID: 0016_redteam_reports
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_redteam_reports"
down_revision = "0001_core"
branch_labels = None  # a branch of its own (down_revision 0001_core); a label equal to the
# revision id is rejected by Alembic
depends_on = None


def upgrade() -> None:
    op.create_table(
        "redteam_reports",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("summary", sa.JSON, nullable=True),
        sa.Column("report", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_redteam_reports_created", "redteam_reports", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_redteam_reports_created", table_name="redteam_reports")
    op.drop_table("redteam_reports")
