"""ApprovalService: requests, decisions, separation of duties, edits, deadlines, waiting."""

from __future__ import annotations

import asyncio

import pytest
from approval_helpers import Clock, proposal, requirement

from aios.approvals import ApprovalPolicy, ApprovalService, AuditLog, Mode, args_hash
from aios.auth import User
from aios.errors import ConfigError, ConflictError, NotFoundError, PermissionDenied
from aios.store import Store

People = dict[str, User]


async def test_submit_stores_a_pending_request_once_per_call(service: ApprovalService) -> None:
    first = await service.submit(proposal(risks=["deletes files"], confidence=0.4),
                                 requirement("high"))
    again = await service.submit(proposal(), requirement("high"))
    assert again.id == first.id
    assert first.status == "pending" and first.version == 1
    assert first.args_hash == args_hash({"path": "/tmp/x"})
    assert (first.requester, first.reason, first.risks, first.confidence) == (
        "ops", "disk full", ["deletes files"], 0.4)
    assert first.deadline is not None and first.required_approvals == 1
    other = await service.submit(proposal(args={"path": "/var"}), requirement("high"))
    assert other.id != first.id  # other arguments: another request
    kinds = [r.kind async for r in service.audit.records(request_id=first.id)]
    assert kinds == ["request.created"]


async def test_notify_mode_is_approved_at_once_and_recorded(service: ApprovalService) -> None:
    req = await service.submit(proposal(), requirement("medium"))
    assert req.status == "approved" and req.deadline is None
    kinds = [r.kind async for r in service.audit.records(request_id=req.id)]
    assert kinds == ["request.created", "request.auto_approved"]
    with pytest.raises(ConfigError):
        await service.submit(proposal(step_id="s2"), requirement("low"))


async def test_one_approval_approves_a_high_request(service: ApprovalService,
                                                    people: People) -> None:
    req = await service.submit(proposal(), requirement("high"))
    done = await service.approve(req.id[:8], people["alice"], comment="looks fine")
    assert done.status == "approved" and done.approvers() == ["alice"]
    assert done.decided_at is not None and done.version == 2
    kinds = [r.kind async for r in service.audit.records(request_id=req.id)]
    assert kinds == ["request.created", "decision.approve", "request.approved"]


async def test_critical_needs_distinct_approvers(service: ApprovalService,
                                                 people: People) -> None:
    req = await service.submit(proposal(), requirement("critical"))
    partial = await service.approve(req.id, people["alice"])
    assert partial.status == "pending" and partial.approvers() == ["alice"]
    with pytest.raises(ConflictError, match=r"alice already approved.*distinct approvers"):
        await service.approve(req.id, people["alice"])
    done = await service.approve(req.id, people["bob"])
    assert done.status == "approved" and done.approvers() == ["alice", "bob"]


async def test_nobody_approves_a_request_they_caused(service: ApprovalService,
                                                     people: People) -> None:
    req = await service.submit(proposal(requester="alice"), requirement("high"))
    with pytest.raises(PermissionDenied, match="separation of duties"):
        await service.approve(req.id, people["alice"])
    assert (await service.get(req.id)).status == "pending"


async def test_viewers_and_outsiders_cannot_decide(service: ApprovalService,
                                                   people: People) -> None:
    req = await service.submit(proposal(), requirement("high"))
    with pytest.raises(PermissionDenied, match="viewer"):
        await service.approve(req.id, people["vic"])
    policy = ApprovalPolicy.model_validate({"groups": {"dba": {"users": ["carol"]}},
                                            "rules": [{"action": "storage.*",
                                                       "approvers": "dba"}]})
    dba = await service.submit(proposal(step_id="s2"), requirement("high", policy))
    with pytest.raises(PermissionDenied, match="group 'dba'"):
        await service.approve(dba.id, people["alice"])
    assert (await service.approve(dba.id, people["carol"])).status == "approved"


async def test_unknown_or_decided_requests_cannot_be_decided(service: ApprovalService,
                                                             people: People) -> None:
    with pytest.raises(NotFoundError, match="aios approvals list"):
        await service.approve("doesnotexist", people["alice"])
    req = await service.submit(proposal(), requirement("high"))
    await service.reject(req.id, people["bob"], reason="wrong disk")
    with pytest.raises(ConflictError, match="already rejected by bob: wrong disk"):
        await service.approve(req.id, people["alice"])
    with pytest.raises(ConflictError, match="already rejected"):
        await service.reject(req.id, people["alice"], reason="me too")


async def test_reject_needs_a_reason(service: ApprovalService, people: People) -> None:
    req = await service.submit(proposal(), requirement("high"))
    with pytest.raises(ConfigError, match="needs a reason"):
        await service.reject(req.id, people["alice"], reason="  ")
    done = await service.reject(req.id, people["alice"], reason="not today")
    assert done.status == "rejected" and done.rejection() is not None


async def test_a_stale_version_is_a_conflict(service: ApprovalService, people: People) -> None:
    req = await service.submit(proposal(), requirement("critical"))
    await service.approve(req.id, people["alice"], version=req.version)
    with pytest.raises(ConflictError, match="changed since you looked"):
        await service.approve(req.id, people["bob"], version=req.version)


async def test_edit_replaces_arguments_and_resets_approvals(service: ApprovalService,
                                                            people: People) -> None:
    schema = {"type": "object", "properties": {"path": {"type": "string"}},
              "required": ["path"], "additionalProperties": False}
    req = await service.submit(proposal(input_schema=schema), requirement("critical"))
    await service.approve(req.id, people["alice"])
    with pytest.raises(ConfigError, match="not valid"):
        await service.approve(req.id, people["bob"], edited_args={"path": 3})
    edited = await service.approve(req.id, people["bob"], edited_args={"path": "/tmp/y"})
    assert edited.status == "pending"  # alice approved other arguments
    assert edited.current_args == {"path": "/tmp/y"} and edited.approvers() == ["bob"]
    assert edited.approved_hash == args_hash({"path": "/tmp/y"})
    done = await service.approve(req.id, people["alice"])  # alice approves the edit
    assert done.status == "approved" and done.approvers() == ["bob", "alice"]
    assert [s["stage"] for s in done.lineage()] == ["proposed", "edited"]
    kinds = [r.kind async for r in service.audit.records(request_id=req.id)]
    assert "request.edited" in kinds


async def test_queue_is_ordered_by_priority_then_age(service: ApprovalService,
                                                     clock: Clock) -> None:
    high = await service.submit(proposal(step_id="a"), requirement("high"))
    clock.advance(seconds=1)
    crit = await service.submit(proposal(step_id="b"), requirement("critical"))
    clock.advance(seconds=1)
    high2 = await service.submit(proposal(step_id="c"), requirement("high"))
    assert [r.id for r in await service.queue()] == [crit.id, high.id, high2.id]


async def test_expiry_rejects_and_is_recorded(service: ApprovalService, clock: Clock,
                                              people: People) -> None:
    req = await service.submit(proposal(), requirement("high"))
    assert await service.expire_due() == []
    clock.advance(hours=25)
    (expiry,) = await service.expire_due()
    assert expiry.outcome == "expired"
    assert (await service.get(req.id)).status == "expired"
    with pytest.raises(ConflictError, match="expired"):
        await service.approve(req.id, people["alice"])
    kinds = [r.kind async for r in service.audit.records(request_id=req.id)]
    assert kinds == ["request.created", "request.expired"]


async def test_escalation_chain_moves_to_the_next_group_with_a_new_deadline(
        service: ApprovalService, clock: Clock, people: People) -> None:
    policy = ApprovalPolicy.model_validate({
        "groups": {"leads": {"users": ["carol"]}},
        "levels": {"critical": {"deadline": "1h", "escalation": [
            {"to": "leads", "deadline": "30m"}, {"to": "admins", "deadline": "2h"}]}}})
    req = await service.submit(proposal(), requirement("critical", policy))
    await service.approve(req.id, people["alice"])
    clock.advance(minutes=61)
    (first,) = await service.expire_due()
    assert (first.outcome, first.from_group, first.to_group) == ("escalated", "approvers",
                                                                "leads")
    now = await service.get(req.id)
    assert now.status == "escalated" and now.group.group == "leads"
    assert now.deadline == clock.now + __import__("datetime").timedelta(minutes=30)
    with pytest.raises(PermissionDenied, match="group 'leads'"):
        await service.approve(req.id, people["bob"])
    clock.advance(minutes=31)
    (second,) = await service.expire_due()
    assert second.to_group == "admins"
    clock.advance(hours=3)
    (last,) = await service.expire_due()
    assert last.outcome == "expired"
    kinds = [r.kind async for r in service.audit.records(request_id=req.id)]
    assert kinds == ["request.created", "decision.approve", "request.escalated",
                     "request.escalated", "request.expired"]


async def test_escalated_request_can_be_approved_by_the_new_group(
        service: ApprovalService, clock: Clock, people: People) -> None:
    req = await service.submit(proposal(), requirement("critical"))
    await service.approve(req.id, people["alice"])
    clock.advance(hours=5)
    await service.expire_due()
    with pytest.raises(PermissionDenied):
        await service.approve(req.id, people["bob"])  # approvers had their turn
    done = await service.approve(req.id, people["ada"])  # an admin
    assert done.status == "approved" and done.approvers() == ["alice", "ada"]


async def test_wait_returns_when_decided_elsewhere(store: Store, service: ApprovalService,
                                                   people: People) -> None:
    req = await service.submit(proposal(), requirement("high"))
    other = ApprovalService(store)  # another process, as far as the waiter can tell

    async def decide_later() -> None:
        await asyncio.sleep(0.05)
        await other.approve(req.id, people["alice"])

    task = asyncio.create_task(decide_later())
    got = await service.wait(req.id, 10)
    await task
    assert got.status == "approved"
    assert (await service.wait(req.id, 0)).status == "approved"


async def test_wait_gives_up_after_its_bound(service: ApprovalService) -> None:
    req = await service.submit(proposal(), requirement("high"))
    got = await service.wait(req.id, 0.05)
    assert got.status == "pending"


async def test_events_reach_listeners(store: Store, people: People) -> None:
    seen: list[tuple[str, str]] = []
    service = ApprovalService(store, listeners=[lambda e: seen.append((e.kind, e.actor))])
    req = await service.submit(proposal(), requirement("high"))
    await service.approve(req.id, people["alice"])
    assert seen == [("created", "ops"), ("decided", "alice"), ("approved", "alice")]


async def test_every_change_lands_in_a_verifiable_audit_chain(store: Store,
                                                              service: ApprovalService,
                                                              people: People) -> None:
    a = await service.submit(proposal(step_id="a"), requirement("critical"))
    b = await service.submit(proposal(step_id="b"), requirement("high"))
    await service.approve(a.id, people["alice"], edited_args={"path": "/tmp/z"})
    await service.approve(a.id, people["bob"])
    await service.reject(b.id, people["carol"], reason="no")
    report = await AuditLog(store).verify()
    assert report.ok and report.records == 8, str(report)


def test_requirement_helper_uses_default_policy() -> None:
    assert requirement("critical").mode is Mode.require
