"""ApprovalLayer in a real runtime: suspend, resume, exactly-once, edits, rejections, waits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aios.approvals import ApprovalLayer, ApprovalService, Justification, resumable_runs
from aios.approvals.canonical import args_hash
from aios.auth import User
from aios.manifest import Manifest
from aios.runtime import (
    ActionContext,
    ForensicLayer,
    HandlerRegistry,
    IdempotencyLayer,
    Runtime,
    StepCall,
    TimeoutLayer,
    handler,
)
from aios.store import RunStore, Store

CALLS: list[tuple[str, dict[str, Any]]] = []


@handler("tappr.change")
async def change(ctx: ActionContext) -> dict[str, Any]:
    CALLS.append((ctx.step_id, dict(ctx.args)))
    if ctx.args.get("fail"):
        raise RuntimeError("disk on fire")
    return {"changed": ctx.args.get("path")}


@handler("tappr.probe")
async def probe(ctx: ActionContext) -> dict[str, Any]:
    CALLS.append((ctx.step_id, {}))
    return {"ok": True}


def manifest(**approvals: Any) -> Manifest:
    schema = {"type": "object", "properties": {"path": {"type": "string"},
                                                "fail": {"type": "boolean"}},
              "additionalProperties": False}
    return Manifest.model_validate({
        "agents": {"disk": {"actions": {
            "wipe": {"handler": "tappr.change", "criticality": "high", "mutates": True,
                     "inputs": schema, "params": {"path": "/tmp/a"}},
            "nuke": {"handler": "tappr.change", "criticality": "critical", "mutates": True,
                     "inputs": schema},
            "tidy": {"handler": "tappr.change", "criticality": "medium", "mutates": True,
                     "inputs": schema},
            "df": {"handler": "tappr.probe"}}}},
        "sequences": {
            "fix": {"steps": [{"action": "disk.wipe", "depends_on": []},
                              {"action": "disk.df", "depends_on": []}]},
            "after": {"steps": [{"action": "disk.wipe"}, {"action": "disk.df"}]}},
        "approvals": approvals})


@pytest.fixture(autouse=True)
def _clear() -> None:
    CALLS.clear()


@pytest.fixture
async def runs(store: Store) -> Any:
    repo = RunStore(store)
    yield repo
    await repo.writer.close()


def runtime(m: Manifest, runs: RunStore, service: ApprovalService, *,
            wait: float | None = None, requester: str = "ops", **kw: Any) -> Runtime:
    registry = HandlerRegistry()
    registry.add(change)
    registry.add(probe)
    forensic = kw.pop("forensic", False)
    layer = ApprovalLayer(service, m.approvals, requester, wait, **kw)
    return Runtime(m, runs, registry=registry, forensic=forensic, layers=[
        ForensicLayer(), layer, IdempotencyLayer(runs), TimeoutLayer()])


async def test_low_actions_run_without_a_request(store: Store, runs: RunStore,
                                                 service: ApprovalService) -> None:
    result = await runtime(manifest(), runs, service).execute("disk.df")
    assert result.ok and CALLS == [("disk.df", {})]
    assert await service.queue(statuses=None) == []


async def test_high_action_suspends_then_runs_once_after_approval(
        store: Store, runs: RunStore, service: ApprovalService,
        people: dict[str, User]) -> None:
    rt = runtime(manifest(), runs, service)
    first = await rt.run("fix")
    assert first.status == "waiting"
    assert first.steps["disk.wipe"].status == "waiting"
    assert first.steps["disk.df"].status == "succeeded"  # independent steps go on
    (req,) = await service.queue()
    assert req.run_id == first.run_id and req.requester == "ops"
    assert req.args == {"path": "/tmp/a"} and req.reason and "criticality high" in req.risks
    assert f"aios approvals approve {req.id[:12]}" in (first.steps["disk.wipe"].error or "")
    assert await resumable_runs(store) == []
    again = await rt.resume(first.run_id)  # still pending: waits again, no new request
    assert again.status == "waiting" and len(await service.queue(statuses=None)) == 1

    await service.approve(req.id, people["alice"])
    assert await resumable_runs(store) == [first.run_id]
    done = await rt.resume(first.run_id)
    assert done.status == "succeeded", done.steps
    assert [c for c in CALLS if c[0] == "disk.wipe"] == [("disk.wipe", {"path": "/tmp/a"})]
    executed = await service.get(req.id)
    assert executed.status == "executed" and executed.outcome is not None
    assert executed.outcome["status"] == "succeeded"
    assert executed.executed_hash == req.args_hash
    assert await resumable_runs(store) == []
    await rt.resume(first.run_id)
    assert len([c for c in CALLS if c[0] == "disk.wipe"]) == 1  # never twice


async def test_dependents_of_a_waiting_step_wait_with_it(
        runs: RunStore, service: ApprovalService, people: dict[str, User]) -> None:
    rt = runtime(manifest(), runs, service)
    result = await rt.run("after")
    assert result.status == "waiting" and CALLS == []
    (req,) = await service.queue()
    await service.approve(req.id, people["bob"])
    assert (await rt.resume(result.run_id)).ok
    assert [c[0] for c in CALLS] == ["disk.wipe", "disk.df"]


async def test_edited_arguments_are_what_runs(runs: RunStore, service: ApprovalService,
                                              people: dict[str, User]) -> None:
    rt = runtime(manifest(), runs, service)
    run = await rt.execute("disk.nuke", {"path": "/"})
    (req,) = await service.queue()
    await service.approve(req.id, people["alice"], edited_args={"path": "/tmp/safe"})
    await service.approve(req.id, people["bob"])
    done = await rt.resume(run.run_id)
    assert done.ok
    assert CALLS == [("disk.nuke", {"path": "/tmp/safe"})]
    final = await service.get(req.id)
    assert [s["stage"] for s in final.lineage()] == ["proposed", "edited", "executed"]
    assert final.executed_hash == args_hash({"path": "/tmp/safe"}) == final.approved_hash
    assert final.args_hash == args_hash({"path": "/"})


async def test_rejection_fails_the_step_with_who_and_why(
        store: Store, runs: RunStore, service: ApprovalService,
        people: dict[str, User]) -> None:
    rt = runtime(manifest(), runs, service)
    run = await rt.execute("disk.wipe")
    (req,) = await service.queue()
    await service.reject(req.id, people["carol"], reason="wrong host")
    assert await resumable_runs(store) == [run.run_id]
    done = await rt.resume(run.run_id)
    assert done.status == "failed"
    error = done.steps["disk.wipe"].error or ""
    assert "ApprovalDenied" in error and "rejected by carol: wrong host" in error
    assert CALLS == []
    assert (await service.get(req.id)).consumed_at is not None
    assert await resumable_runs(store) == []


async def test_in_process_wait_runs_as_soon_as_approved(
        store: Store, runs: RunStore, people: dict[str, User]) -> None:
    waiter = ApprovalService(store, poll_max=0.02)
    approver = ApprovalService(store)
    rt = runtime(manifest(), runs, waiter, wait=30)
    task = asyncio.create_task(rt.execute("disk.wipe"))
    for _ in range(200):
        pending = await approver.queue()
        if pending:
            break
        await asyncio.sleep(0.01)
    await approver.approve(pending[0].id, people["alice"])
    result = await asyncio.wait_for(task, 10)
    assert result.ok and CALLS == [("disk.wipe", {"path": "/tmp/a"})]


async def test_medium_runs_at_once_and_is_recorded_for_review(
        runs: RunStore, service: ApprovalService) -> None:
    result = await runtime(manifest(), runs, service).execute("disk.tidy", {"path": "/t"})
    assert result.ok and CALLS == [("disk.tidy", {"path": "/t"})]
    (req,) = await service.queue(statuses=None)
    assert req.status == "executed" and req.approvers() == []


async def test_deny_rule_fails_the_step(runs: RunStore, service: ApprovalService) -> None:
    m = manifest(rules=[{"action": "disk.w*", "mode": "deny"}])
    result = await runtime(m, runs, service).execute("disk.wipe")
    assert result.status == "failed" and "approvals.rules[0]" in (result.error or "")
    assert CALLS == []


async def test_low_confidence_requires_approval(runs: RunStore,
                                                service: ApprovalService) -> None:
    m = manifest(rules=[{"confidence_below": 0.8, "level": "critical"}])

    def unsure(call: StepCall) -> Justification:
        return Justification("the model thinks so", ("guess",), confidence=0.3)

    result = await runtime(m, runs, service, describe=unsure).execute("disk.tidy")
    assert result.status == "waiting" and CALLS == []
    (req,) = await service.queue()
    assert (req.confidence, req.required_approvals, req.reason) == (0.3, 2,
                                                                    "the model thinks so")


async def test_failure_after_approval_is_recorded_as_the_outcome(
        runs: RunStore, service: ApprovalService, people: dict[str, User]) -> None:
    rt = runtime(manifest(), runs, service)
    run = await rt.execute("disk.wipe", {"path": "/x", "fail": True})
    (req,) = await service.queue()
    await service.approve(req.id, people["alice"])
    done = await rt.resume(run.run_id)
    assert done.status == "failed"
    final = await service.get(req.id)
    assert final.status == "executed" and final.outcome is not None
    assert final.outcome["status"] == "failed" and "disk on fire" in final.outcome["error"]
    kinds = [r.kind async for r in service.audit.records(request_id=req.id)]
    assert kinds[-1] == "action.executed"


async def test_forensic_mode_never_asks_for_mutating_actions(
        runs: RunStore, service: ApprovalService) -> None:
    m = manifest(rules=[{"forensic": True, "mutates": False, "mode": "auto"}])
    rt = runtime(m, runs, service, forensic=True)
    result = await rt.run("fix")
    assert result.steps["disk.wipe"].status == "skipped"
    assert result.steps["disk.df"].status == "succeeded"
    assert await service.queue(statuses=None) == []
