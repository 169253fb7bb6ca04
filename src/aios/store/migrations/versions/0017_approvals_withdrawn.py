"""Approvals: a withdrawn request no longer holds its call's key.

A call (run, step, proposed-arguments hash) keeps at most one live request, but a request
withdrawn because its run was cancelled stays as history, and resuming the run asks again
with a new request. The unique constraint becomes a unique index over the rows whose status
is not `withdrawn` (a partial index: SQLite 3.8+ and PostgreSQL). Status is free text (no
CHECK constraint), so the new status needs no other change.

Revision ID: 0017_approvals_withdrawn
Revises: 0006_approvals
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_approvals_withdrawn"
down_revision = "0006_approvals"

_COLUMNS = ["run_id", "step_id", "args_hash"]
_LIVE = sa.text("status <> 'withdrawn'")


def upgrade() -> None:
    # SQLite cannot drop a constraint in place: batch mode copies the table.
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_constraint("uq_approval_requests_call", type_="unique")
    op.create_index("uq_approval_requests_live_call", "approval_requests", _COLUMNS,
                    unique=True, sqlite_where=_LIVE, postgresql_where=_LIVE)


def downgrade() -> None:
    # Fails while a withdrawn request and a newer one share a call: delete one of them first.
    op.drop_index("uq_approval_requests_live_call", table_name="approval_requests")
    with op.batch_alter_table("approval_requests") as batch:
        batch.create_unique_constraint("uq_approval_requests_call", _COLUMNS)
