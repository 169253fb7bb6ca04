"""The heartbeat of the process executing a run.

- `runs.heartbeat_at`: when the process the row names (`pid` on `host`) last said it still
  executes the run (refreshed every `AIOS_RUN_HEARTBEAT_SECONDS`; NULL once the run stopped,
  and for runs recorded before this revision). A resume from another host or process is
  refused while it is fresh and takes the run over once it is stale.

Revision ID: 0024_run_heartbeat
Revises: 0023_key_tenants
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_run_heartbeat"
down_revision = "0023_key_tenants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_at")
