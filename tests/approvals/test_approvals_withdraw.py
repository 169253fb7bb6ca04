"""Withdrawal: a cancelled run's open requests leave the queue at once, audited, for good."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from approval_helpers import Clock, proposal, requirement
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from aios.approvals import ApprovalEvent, ApprovalService, AuditLog, WithdrawOnCancel
from aios.approvals.gauges import approval_gauges
from aios.approvals.requests import STATUSES, approval_requests
from aios.auth import User
from aios.errors import ConflictError
from aios.runtime.events import RunFinished
from aios.store import Store

People = dict[str, User]


async def test_withdraw_run_withdraws_every_open_request_of_the_run_and_audits_each(
        store: Store, clock: Clock, people: People) -> None:
    events: list[ApprovalEvent] = []
    service = ApprovalService(store, clock=clock, listeners=[events.append])
    high = await service.submit(proposal(step_id="a"), requirement("high"))
    crit = await service.submit(proposal(step_id="b"), requirement("critical"))
    done = await service.submit(proposal(step_id="c"), requirement("high"))
    other = await service.submit(proposal(run_id="run2"), requirement("high"))
    await service.approve(done.id, people["alice"])
    clock.advance(hours=5)  # the critical one escalates to the admins
    await service.expire_due(ids=[crit.id])
    assert (await service.get(crit.id)).status == "escalated"
    events.clear()

    withdrawn = await service.withdraw_run("run1", actor="alice", reason="cancelled by alice")

    assert sorted(r.id for r in withdrawn) == sorted([high.id, crit.id])
    for req_id, before in ((high.id, "pending"), (crit.id, "escalated")):
        now = await service.get(req_id)
        assert now.status == "withdrawn" and not now.decidable
        assert now.decided_at == clock.now
        assert now.outcome == {"status": "withdrawn", "by": "alice",
                               "reason": "cancelled by alice"}
        trail = [r async for r in service.audit.records(request_id=req_id)]
        assert trail[-1].kind == "request.withdrawn" and trail[-1].actor == "alice"
        assert trail[-1].run_id == "run1"
        assert trail[-1].data["reason"] == "cancelled by alice"
        assert trail[-1].data["from_status"] == before
    assert (await service.get(done.id)).status == "approved"  # decided before: kept
    assert [r.id for r in await service.queue()] == [other.id]  # only run2's is left
    assert sorted((e.kind, e.request_id, e.actor) for e in events) == sorted(
        [("withdrawn", high.id, "alice"), ("withdrawn", crit.id, "alice")])
    assert await service.withdraw_run("run1", actor="bob", reason="again") == []
    report = await AuditLog(store).verify()
    assert report.ok, str(report)
    assert "withdrawn" in STATUSES


async def test_deciding_a_withdrawn_request_is_refused_naming_the_cancelled_run(
        service: ApprovalService, people: People) -> None:
    req = await service.submit(proposal(run_id="f00dcafe" * 4), requirement("critical"))
    await service.approve(req.id, people["alice"])  # one of two approvals
    await service.withdraw_run(req.run_id, actor="bob", reason="cancelled by bob")
    pattern = (r"request \w{12} was withdrawn because its run f00dcafef00d was cancelled "
               r"\(cancelled by bob\).*aios runs resume f00dcafef00d")
    with pytest.raises(ConflictError, match=pattern + ".*nothing to approve"):
        await service.approve(req.id, people["carol"])
    with pytest.raises(ConflictError, match=pattern + ".*nothing to reject"):
        await service.reject(req.id, people["carol"], reason="no")
    after = await service.get(req.id)
    assert after.status == "withdrawn" and after.approvers() == ["alice"]


async def test_a_decision_that_read_the_request_before_the_withdrawal_is_not_recorded(
        service: ApprovalService, people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    # Approve reads the request, the run is cancelled and withdrawn (by another process),
    # then approve tries to claim it.
    req = await service.submit(proposal(), requirement("high"))
    other = ApprovalService(service.store)
    read = service.requests.get

    async def withdraw_after_reading(*args: Any) -> Any:
        monkeypatch.setattr(service.requests, "get", read)
        found = await read(*args)
        await other.withdraw_run(req.run_id, actor="bob", reason="cancelled by bob")
        return found

    monkeypatch.setattr(service.requests, "get", withdraw_after_reading)
    with pytest.raises(ConflictError, match=r"withdrawn because its run run1 was cancelled.*"
                                            r"your approve came a moment too late"):
        await service.approve(req.id, people["alice"])
    after = await service.get(req.id)
    assert after.status == "withdrawn" and after.decisions == ()


async def test_a_withdrawal_that_loses_to_a_decision_keeps_the_decision(
        service: ApprovalService, people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    # The withdrawal reads the open requests, an approval commits, then the withdrawal claims:
    # it loses, reads again, and withdraws only what is still open.
    first = await service.submit(proposal(step_id="a"), requirement("high"))
    second = await service.submit(proposal(step_id="b"), requirement("high"))
    listing = service.requests.list_requests

    async def approve_meanwhile(**kw: Any) -> Any:
        monkeypatch.setattr(service.requests, "list_requests", listing)
        found = await listing(**kw)
        await service.approve(first.id, people["alice"])
        return found

    monkeypatch.setattr(service.requests, "list_requests", approve_meanwhile)
    withdrawn = await service.withdraw_run("run1", actor="bob", reason="cancelled by bob")
    assert [r.id for r in withdrawn] == [second.id]
    assert (await service.get(first.id)).status == "approved"
    assert (await service.get(second.id)).status == "withdrawn"
    trail = [r.kind async for r in service.audit.records(request_id=first.id)]
    assert "request.withdrawn" not in trail  # the rolled-back attempt left no record


async def test_concurrent_approve_and_withdraw_exactly_one_wins(
        store: Store, people: People) -> None:
    # Two services on one store, as two processes: each request ends approved or withdrawn,
    # never both, and the loser learns it.
    approver, canceller = ApprovalService(store), ApprovalService(store)
    reqs = [await approver.submit(proposal(run_id=f"run{i}"), requirement("high"))
            for i in range(8)]

    async def approve(request_id: str) -> bool:
        try:
            await approver.approve(request_id, people["alice"])
        except ConflictError as exc:
            assert "withdrawn because its run" in str(exc)
            return False
        return True

    outcomes = await asyncio.gather(*(asyncio.gather(
        approve(r.id), canceller.withdraw_run(r.run_id, actor="bob", reason="cancelled by bob"))
        for r in reqs))
    for req, (approved, withdrawn) in zip(reqs, outcomes, strict=True):
        final = await approver.get(req.id)
        assert approved != bool(withdrawn), (approved, withdrawn)
        assert final.status == ("approved" if approved else "withdrawn")
        kinds = [r.kind async for r in approver.audit.records(request_id=req.id)]
        assert ("request.approved" in kinds) != ("request.withdrawn" in kinds), kinds
    assert (await AuditLog(store).verify()).ok


async def test_a_withdrawn_call_may_be_asked_again_but_a_live_one_only_once(
        store: Store, service: ApprovalService) -> None:
    first = await service.submit(proposal(), requirement("high"))
    assert (await service.submit(proposal(), requirement("high"))).id == first.id
    await service.withdraw_run("run1", actor="ops", reason="run cancelled")
    assert await service.find("run1", "step1", first.args_hash) is None
    second = await service.submit(proposal(), requirement("high"))
    assert second.id != first.id and second.status == "pending"
    found = await service.find("run1", "step1", first.args_hash)
    assert found is not None and found.id == second.id
    assert (await service.submit(proposal(), requirement("high"))).id == second.id
    async with store.engine.connect() as conn:
        row = dict((await conn.execute(select(approval_requests).where(
            approval_requests.c.id == second.id))).mappings().one())
    with pytest.raises(IntegrityError):  # the store itself refuses a second live request
        async with store.engine.begin() as conn:
            await conn.execute(insert(approval_requests).values(**{**row, "id": "x" * 32}))


async def test_the_queue_gauge_does_not_count_withdrawn_requests(
        store: Store, service: ApprovalService) -> None:
    await service.submit(proposal(step_id="a"), requirement("high"))
    await service.submit(proposal(run_id="run2"), requirement("high"))
    await service.withdraw_run("run1", actor="ops", reason="run cancelled")
    families = {f.name: f for f in await approval_gauges(store)}
    waiting = {tuple(s.labels.values()): s.value for s in families["aios_approvals_waiting"]
               .samples}
    assert waiting == {("high",): 1.0}


async def test_the_listener_withdraws_when_a_run_ends_cancelled_and_only_then(
        service: ApprovalService) -> None:
    req = await service.submit(proposal(), requirement("high"))
    listener = WithdrawOnCancel(service, actor="ops")
    listener(RunFinished("run1", "waiting"))
    listener(RunFinished("run1", "failed", "boom"))
    await listener.aclose()
    assert (await service.get(req.id)).status == "pending"
    listener(RunFinished("run1", "cancelled", "cancelled by the user"))
    await listener.aclose()
    after = await service.get(req.id)
    assert after.status == "withdrawn"
    assert after.outcome == {"status": "withdrawn", "by": "ops",
                             "reason": "run cancelled: cancelled by the user"}


async def test_a_failed_withdrawal_is_logged_and_raises_nothing(
        service: ApprovalService, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    req = await service.submit(proposal(), requirement("high"))

    async def broken(*args: Any, **kw: Any) -> Any:
        raise OSError("disk gone")

    monkeypatch.setattr(service, "withdraw_run", broken)
    listener = WithdrawOnCancel(service, actor="ops")
    with caplog.at_level(logging.ERROR, logger="aios.approvals"):
        listener(RunFinished("run1", "cancelled"))
        await listener.aclose()
    assert "withdrawing its open approval requests failed" in caplog.text
    assert (await service.get(req.id)).status == "pending"


async def test_withdrawal_gives_up_after_its_attempts_and_changes_nothing(
        service: ApprovalService, monkeypatch: pytest.MonkeyPatch) -> None:
    req = await service.submit(proposal(), requirement("high"))
    tries: list[str] = []

    async def always_lose(conn: Any, request_id: str, *args: Any) -> bool:
        tries.append(request_id)
        return False

    monkeypatch.setattr(service.requests, "claim", always_lose)
    with pytest.raises(ConflictError, match=r"kept changing.*\(3 tries\).*stay in the queue"):
        await service.withdraw_run("run1", actor="ops", reason="run cancelled", attempts=3)
    assert tries == [req.id] * 3
    after = await service.get(req.id)
    assert after.status == "pending" and after.version == req.version
