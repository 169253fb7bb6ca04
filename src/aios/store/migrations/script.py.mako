"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}
# Columns: aios.store.columns (string, text, timestamp, ...); adding or dropping columns:
# aios.store.alter. Leave `branch_labels` and `depends_on` unset: a label equal to a revision
# id makes Alembic refuse the whole history.

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
