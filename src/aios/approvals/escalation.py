"""Deadlines: a request whose deadline passes escalates to the next group, or expires.

Nothing expires silently: each escalation and each expiry is a state change with its own
audit record, made by the same conditional UPDATE as a decision, so a decision and an expiry
racing each other cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aios.approvals.audit import AuditLog
from aios.approvals.requests import DECIDABLE, RequestStore

__all__ = ["Expiry", "expire_due"]

#: The actor recorded for changes made by the policy itself rather than a person.
POLICY_ACTOR = "policy"


@dataclass(frozen=True)
class Expiry:
    """What happened to one request whose deadline passed.

    Attributes:
        request_id: the request.
        outcome: `escalated` (a new group has a new deadline) or `expired` (rejected).
        from_group: the group that let the deadline pass.
        to_group: the group asked now, when escalated.
        deadline: the new deadline, when escalated.
    """

    request_id: str
    outcome: str
    from_group: str
    to_group: str | None = None
    deadline: datetime | None = None


async def expire_due(requests: RequestStore, audit: AuditLog, now: datetime, *,
                     ids: Sequence[str] | None = None) -> list[Expiry]:
    """Apply every passed deadline (of `ids` only, when given) and return what changed.

    A request changed by someone else between the look-up and the update is left alone here;
    if its deadline still stands, the next call applies it.
    """
    done: list[Expiry] = []
    for request_id, version in await requests.due(now, ids):
        async with requests.transaction() as conn:
            if not await requests.claim(conn, request_id, version, DECIDABLE, now):
                continue
            req = await requests.get(request_id, conn)
            passed = req.deadline.isoformat() if req.deadline else None
            current = req.group
            if req.stage + 1 < len(req.route):
                nxt = req.route[req.stage + 1]
                deadline = now + timedelta(seconds=nxt.deadline) if nxt.deadline else None
                await requests.set(conn, req.id, status="escalated", stage=req.stage + 1,
                                   deadline=deadline)
                await audit.append(conn, "request.escalated", actor=POLICY_ACTOR,
                                   request_id=req.id, run_id=req.run_id, data={
                                       "deadline_passed": passed, "from_group": current.group,
                                       "to_group": nxt.group, "stage": req.stage + 1,
                                       "deadline": deadline.isoformat() if deadline else None,
                                       "approvals": req.approvers()})
                done.append(Expiry(req.id, "escalated", current.group, nxt.group, deadline))
            else:
                await requests.set(conn, req.id, status="expired", decided_at=now)
                await audit.append(conn, "request.expired", actor=POLICY_ACTOR,
                                   request_id=req.id, run_id=req.run_id, data={
                                       "deadline_passed": passed, "group": current.group,
                                       "approvals": req.approvers(),
                                       "required": req.required_approvals})
                done.append(Expiry(req.id, "expired", current.group))
    return done
