"""Human-in-the-loop approvals: policy, durable requests, escalation, a hash-chained audit log.

The policy models load eagerly (the manifest schema imports them); everything else loads on
first use, because it imports the runtime, which imports the manifest schema.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
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

_LAZY = {
    "AuditLog": "audit", "AuditRecord": "audit", "VerifyReport": "audit",
    "verify_records": "audit", "args_hash": "canonical", "canonical_json": "canonical",
    "Expiry": "escalation", "expire_due": "escalation", "ApprovalLayer": "layer",
    "Justification": "layer", "approval_layers": "layer", "default_requester": "layer",
    "describe_call": "layer", "resumable_runs": "layer", "ApprovalRequest": "requests",
    "Decision": "requests", "RequestStore": "requests", "ApprovalEvent": "workflow",
    "ApprovalService": "workflow", "Proposal": "workflow", "WithdrawOnCancel": "withdrawal",
    "withdraw_quietly": "withdrawal",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aios.approvals' has no attribute {name!r}")
    return getattr(importlib.import_module(f"aios.approvals.{module}"), name)
