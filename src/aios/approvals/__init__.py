"""Human-in-the-loop approvals: policy, durable requests, escalation, a hash-chained audit log.

No module here imports the manifest at run time (`approval_layers` takes the manifest's
`approvals:` section), so the manifest schema can import `aios.approvals.policy` and this
package re-exports everything directly.
"""

from __future__ import annotations

from aios.approvals.audit import AuditLog, AuditRecord, VerifyReport, verify_records
from aios.approvals.canonical import args_hash, canonical_json
from aios.approvals.escalation import Expiry, expire_due
from aios.approvals.layer import (
    ApprovalLayer,
    Justification,
    approval_layers,
    default_requester,
    describe_call,
    resumable_runs,
)
from aios.approvals.policy import (
    LEVELS,
    ActionFacts,
    ApprovalPolicy,
    ApprovalRule,
    ApproverGroup,
    EscalationStage,
    Level,
    LevelPolicy,
    Levels,
    Mode,
    OnExpiry,
    Requirement,
    Stage,
    parse_duration,
)
from aios.approvals.requests import ApprovalRequest, Decision, RequestStore
from aios.approvals.withdrawal import WithdrawOnCancel, withdraw_quietly
from aios.approvals.workflow import ApprovalEvent, ApprovalService, Proposal

__all__ = [
    "LEVELS",
    "ActionFacts",
    "ApprovalEvent",
    "ApprovalLayer",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ApprovalRule",
    "ApprovalService",
    "ApproverGroup",
    "AuditLog",
    "AuditRecord",
    "Decision",
    "EscalationStage",
    "Expiry",
    "Justification",
    "Level",
    "LevelPolicy",
    "Levels",
    "Mode",
    "OnExpiry",
    "Proposal",
    "RequestStore",
    "Requirement",
    "Stage",
    "VerifyReport",
    "WithdrawOnCancel",
    "approval_layers",
    "args_hash",
    "canonical_json",
    "default_requester",
    "describe_call",
    "expire_due",
    "parse_duration",
    "resumable_runs",
    "verify_records",
    "withdraw_quietly",
]
