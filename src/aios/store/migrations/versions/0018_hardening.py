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


from aios.store.alter import add_columns, drop_columns
from aios.store.columns import json, string

revision = "0018_hardening"
down_revision = "0017_approvals_withdrawn"


def upgrade() -> None:
    add_columns("runs", string("initiator", 200, null=True), json("resumed_by", null=True))
    add_columns("audit_head", string("mac", 64, null=True))


def downgrade() -> None:
    drop_columns("audit_head", "mac")
    drop_columns("runs", "resumed_by", "initiator")
