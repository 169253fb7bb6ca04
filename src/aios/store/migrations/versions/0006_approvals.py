"""Approvals: requests, decisions, the hash-chained audit log, users and API tokens.

Revision ID: 0006_approvals
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_approvals"
down_revision = "0001_core"
branch_labels = None  # a branch of its own: down_revision is 0001_core
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("step_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("args", sa.JSON, nullable=False),
        sa.Column("args_hash", sa.String(64), nullable=False),
        sa.Column("approved_args", sa.JSON, nullable=True),
        sa.Column("approved_hash", sa.String(64), nullable=True),
        sa.Column("executed_hash", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("risks", sa.JSON, nullable=False),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("criticality", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("required_approvals", sa.Integer, nullable=False),
        sa.Column("route", sa.JSON, nullable=False),
        sa.Column("stage", sa.Integer, nullable=False),
        sa.Column("deadline", _TS, nullable=True),
        sa.Column("input_schema", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("outcome", sa.JSON, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("consumed_at", _TS, nullable=True),
        sa.UniqueConstraint("run_id", "step_id", "args_hash", name="uq_approval_requests_call"),
    )
    op.create_index("ix_approval_requests_queue", "approval_requests",
                    ["status", "priority", "created_at"])
    op.create_index("ix_approval_requests_run", "approval_requests", ["run_id"])
    op.create_table(
        "approval_decisions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("decider", sa.String(100), nullable=False),
        sa.Column("decider_id", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("args_hash", sa.String(64), nullable=False),
        sa.Column("edited", sa.Boolean, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.UniqueConstraint("request_id", "decider", "args_hash",
                            name="uq_approval_decisions_once"),
    )
    op.create_index("ix_approval_decisions_request", "approval_decisions", ["request_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", _ID, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_request", "audit_log", ["request_id"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", _ID, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64, "at": ""}])
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("user_id", sa.String(32), nullable=False, index=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
    )


def downgrade() -> None:
    for table in ("api_tokens", "users", "audit_head", "audit_log", "approval_decisions",
                  "approval_requests"):
        op.drop_table(table)
