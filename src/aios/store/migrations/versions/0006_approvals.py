"""Approvals: requests, decisions, the hash-chained audit log, users and API tokens.

Revision ID: 0006_approvals
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

from aios.store.columns import (
    ROW_ID,
    boolean,
    integer,
    json,
    number,
    row_id,
    string,
    text,
    timestamp,
)

revision = "0006_approvals"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        string("id", 32, primary_key=True),
        string("run_id", 32),
        string("step_id", 200),
        string("action", 200),
        json("args"),
        string("args_hash", 64),
        json("approved_args", null=True),
        string("approved_hash", 64, null=True),
        string("executed_hash", 64, null=True),
        text("reason"),
        json("risks"),
        number("confidence", null=True),
        string("criticality", 16),
        integer("priority"),
        string("requester", 200),
        integer("required_approvals"),
        json("route"),
        integer("stage"),
        timestamp("deadline", null=True),
        json("input_schema"),
        string("status", 16),
        integer("version"),
        json("outcome", null=True),
        timestamp("created_at"),
        timestamp("updated_at"),
        timestamp("decided_at", null=True),
        timestamp("consumed_at", null=True),
        sa.UniqueConstraint("run_id", "step_id", "args_hash", name="uq_approval_requests_call"),
    )
    op.create_index("ix_approval_requests_queue", "approval_requests",
                    ["status", "priority", "created_at"])
    op.create_index("ix_approval_requests_run", "approval_requests", ["run_id"])
    op.create_table(
        "approval_decisions",
        row_id(),
        string("request_id", 32),
        string("decider", 100),
        string("decider_id", 32),
        string("decision", 16),
        text("reason", null=True),
        string("args_hash", 64),
        boolean("edited"),
        timestamp("at"),
        sa.UniqueConstraint("request_id", "decider", "args_hash",
                            name="uq_approval_decisions_once"),
    )
    op.create_index("ix_approval_decisions_request", "approval_decisions", ["request_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", ROW_ID, primary_key=True, autoincrement=False),
        string("at", 40),
        string("kind", 40),
        string("actor", 200),
        string("request_id", 32, null=True),
        string("run_id", 32, null=True),
        text("record"),
        string("prev_hash", 64),
        string("hash", 64),
    )
    op.create_index("ix_audit_log_request", "audit_log", ["request_id"])
    head = op.create_table(
        "audit_head",
        integer("id", primary_key=True, autoincrement=False),
        sa.Column("seq", ROW_ID, nullable=False),
        string("hash", 64),
        string("at", 40),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64, "at": ""}])
    op.create_table(
        "users",
        string("id", 32, primary_key=True),
        string("name", 100, unique=True),
        string("role", 16),
        text("password_hash", null=True),
        boolean("disabled"),
        timestamp("created_at"),
    )
    op.create_table(
        "api_tokens",
        string("id", 16, primary_key=True),
        string("user_id", 32, index=True),
        string("label", 200),
        string("token_hash", 64, unique=True),
        timestamp("created_at"),
        timestamp("expires_at", null=True),
        timestamp("revoked_at", null=True),
    )


def downgrade() -> None:
    for table in ("api_tokens", "users", "audit_head", "audit_log", "approval_decisions",
                  "approval_requests"):
        op.drop_table(table)
