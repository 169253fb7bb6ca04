"""Hardening: who started a run and who resumed it; a keyed chain head for the audit log.

`runs.initiator` is the identity that started the run (the requester of every approval
request the run files); `runs.resumed_by` lists who resumed it since (none of them may approve
its requests either). Both are NULL for runs recorded before this revision: their requests
keep the requester they were filed with.

`audit_head.mac` is the HMAC-SHA256 of the head (seq, hash) under the key in AIOS_AUDIT_KEY,
NULL while no key is set.

Revision ID: 0018_hardening
Revises: 0017_approvals_withdrawn
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_hardening"
down_revision = "0017_approvals_withdrawn"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("initiator", sa.String(200), nullable=True))
        batch.add_column(sa.Column("resumed_by", sa.JSON, nullable=True))
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("mac", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("mac")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("resumed_by")
        batch.drop_column("initiator")
