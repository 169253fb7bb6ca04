"""The rules of deciding: who may decide a request, and what counts as an approval.

Separation of duties: a decider must hold the approver (or admin) role and belong to the
approver group the request waits for; nobody approves a request they caused; each approval of
a given set of arguments comes from a distinct person, and only approvals of the arguments
that will run count.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from aios.approvals.escalation import POLICY_ACTOR
from aios.approvals.requests import WITHDRAWN, ApprovalRequest
from aios.auth.users import Role, User
from aios.errors import ConfigError, ConflictError, PermissionDenied
from aios.store.runs import RunParties

__all__ = ["approvers_of", "check_may_decide", "closed_message", "lost_race", "validate_edit"]


def check_may_decide(req: ApprovalRequest, user: User, decision: str,
                     parties: RunParties | None = None) -> None:
    """Raise unless `user` may `decision` (approve | reject) `req`.

    Args:
        req: the request.
        user: the authenticated decider.
        decision: approve | reject.
        parties: who started and resumed the request's run; none of them may approve.

    Raises:
        PermissionDenied: a viewer, not in the request's approver group, or (to approve)
            the identity that caused the request: its requester, the run's initiator, or
            anyone who resumed the run.
    """
    if not user.role.allows(Role.approver):
        raise PermissionDenied(
            f"{user.name} is a {user.role.value}: viewers may read requests but not decide "
            f"them; an admin can change the role (`aios users role {user.name} approver`)")
    group = req.group
    if not group.admits(user.name, user.role.value):
        who = ", ".join([*(f"role {r}" for r in group.roles), *group.users]) or "nobody"
        raise PermissionDenied(
            f"request {req.id[:12]} waits for approver group {group.group!r} ({who}); "
            f"{user.name} ({user.role.value}) is not in it")
    if decision != "approve":
        return
    parties = parties or RunParties()
    if user.name == parties.initiator:
        raise PermissionDenied(
            f"{user.name} started run {req.run_id[:12]}, which filed request {req.id[:12]}, "
            "and may not approve it (separation of duties); another approver must decide")
    if user.name in parties.resumers:
        raise PermissionDenied(
            f"{user.name} resumed run {req.run_id[:12]}, which filed request {req.id[:12]}, "
            "and may not approve it (separation of duties); another approver must decide")
    if user.name == req.requester:
        raise PermissionDenied(
            f"{user.name} caused request {req.id[:12]} and may not approve it (separation "
            "of duties); another approver must decide")


def approvers_of(req: ApprovalRequest, args_hash: str, user: User, decision: str) -> set[str]:
    """Who already approved the arguments with `args_hash`.

    Raises:
        ConflictError: `user` is among them and wants to approve again.
    """
    prior = {d.decider for d in req.decisions
             if d.decision == "approve" and d.args_hash == args_hash}
    if decision == "approve" and user.name in prior:
        raise ConflictError(
            f"{user.name} already approved request {req.id[:12]}; it needs "
            f"{req.required_approvals} distinct approvers, so another person must approve")
    return prior


def validate_edit(req: ApprovalRequest, args: dict[str, Any]) -> None:
    """Raise ConfigError when edited `args` break the action's input schema."""
    if not req.input_schema:
        return
    errors = sorted(jsonschema.Draft202012Validator(req.input_schema).iter_errors(args),
                    key=lambda e: list(e.path))
    if errors:
        detail = "; ".join(f"{'.'.join(str(p) for p in e.path) or '(arguments)'}: "
                           f"{e.message}" for e in errors)
        raise ConfigError(f"edited arguments for {req.action} are not valid: {detail}")


def closed_message(req: ApprovalRequest) -> str:
    """Why a request can no longer be decided, naming who decided it."""
    if req.status in ("approved", "executed"):
        who = ", ".join(req.approvers()) or POLICY_ACTOR
        return f"request {req.id[:12]} is already {req.status} (approved by {who})"
    if req.status == WITHDRAWN:
        why = (req.outcome or {}).get("reason") or "cancelled"
        return (f"request {req.id[:12]} was withdrawn because its run {req.run_id[:12]} was "
                f"cancelled ({why}); `aios runs resume {req.run_id[:12]}` asks for approval "
                "again")
    if req.status == "rejected":
        rej = req.rejection()
        by = f" by {rej.decider}: {rej.reason}" if rej else ""
        return f"request {req.id[:12]} is already rejected{by}"
    if req.deadline is not None:
        return (f"request {req.id[:12]} expired at {req.deadline:%Y-%m-%d %H:%M:%S} UTC "
                "without enough approvals")
    return f"request {req.id[:12]} is {req.status}"


def lost_race(now: ApprovalRequest, decision: str) -> ConflictError:
    """The error for a decision that lost the conditional update to another writer."""
    if not now.decidable:
        return ConflictError(f"{closed_message(now)}; your {decision} came a moment too late "
                             "and was not recorded")
    return ConflictError(
        f"request {now.id[:12]} changed while you decided (another approver acted or the "
        f"arguments were edited); your {decision} was not recorded: review it with "
        f"`aios approvals show {now.id[:12]}` and decide again")
