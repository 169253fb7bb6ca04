"""Reliability: the shared `breakers` table (one row per circuit breaker, latest transition).

Revision ID: 0005_reliability
Revises: 0001_core
"""

from alembic import op

from aios.store.columns import integer, number, string, text, timestamp

revision = "0005_reliability"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "breakers",
        string("name", 300, primary_key=True),
        string("state", 16),
        timestamp("opened_at", null=True),
        timestamp("changed_at"),
        number("failure_rate"),
        integer("calls"),
        integer("transitions"),
        text("reason"),
        string("changed_by", 200),
    )


def downgrade() -> None:
    op.drop_table("breakers")
