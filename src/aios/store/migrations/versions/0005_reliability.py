"""Reliability: the shared `breakers` table (one row per circuit breaker, latest transition).

Revision ID: 0005_reliability
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_reliability"
down_revision = "0001_core"
branch_labels = None  # a branch of its own (down_revision 0001_core); a label equal to the
# revision id makes alembic refuse the whole history ("Branch name ... already used")
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breakers",
        sa.Column("name", sa.String(300), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failure_rate", sa.Float, nullable=False),
        sa.Column("calls", sa.Integer, nullable=False),
        sa.Column("transitions", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("breakers")
