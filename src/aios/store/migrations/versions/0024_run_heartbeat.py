"""The heartbeat of the process executing a run.

- `runs.heartbeat_at`: when the process the row names (`pid` on `host`) last said it still
  executes the run (refreshed every `AIOS_RUN_HEARTBEAT_SECONDS`; NULL once the run stopped,
  and for runs recorded before this revision). A resume from another host or process is
  refused while it is fresh and takes the run over once it is stale.

Revision ID: 0024_run_heartbeat
Revises: 0023_key_tenants
"""


from aios.store.alter import add_columns, drop_columns
from aios.store.columns import timestamp

revision = "0024_run_heartbeat"
down_revision = "0023_key_tenants"


def upgrade() -> None:
    add_columns("runs", timestamp("heartbeat_at", null=True))


def downgrade() -> None:
    drop_columns("runs", "heartbeat_at")
