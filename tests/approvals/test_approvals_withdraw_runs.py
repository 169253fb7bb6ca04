"""Cancelled runs withdraw their requests (composition root, in-process waits), and resuming a
cancelled run asks again instead of treating the withdrawn request as a decision."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from aios.app import open_runtime
from aios.approvals import ApprovalLayer, ApprovalService
from aios.auth import User
from aios.manifest import Manifest
from aios.runtime import (
    ActionContext,
    ForensicLayer,
    HandlerRegistry,
    IdempotencyLayer,
    Runtime,
    TimeoutLayer,
    handler,
)
from aios.settings import Settings
from aios.store import RunStore, Store

CALLS: list[dict[str, Any]] = []


@handler("twd.change")
async def change(ctx: ActionContext) -> dict[str, Any]:
    CALLS.append(dict(ctx.args))
    return {"changed": ctx.args.get("path")}


@handler("twd.probe")
async def probe(ctx: ActionContext) -> dict[str, Any]:
    return {"ok": True}


def manifest(wait_seconds: float = 0) -> Manifest:
    return Manifest.model_validate({
        "name": "withdraw-test",
        "agents": {"disk": {"actions": {
            "wipe": {"handler": "twd.change", "criticality": "high", "mutates": True,
                     "params": {"path": "/tmp/a"}},
            "df": {"handler": "twd.probe"}}}},
        "sequences": {"fix": {"steps": [{"action": "disk.df"},
                                        {"action": "disk.wipe", "depends_on": ["disk.df"]}]}},
        "approvals": {"wait_seconds": wait_seconds}})


@pytest.fixture(autouse=True)
def _clear() -> None:
    CALLS.clear()


@pytest.fixture
async def runs(store: Store) -> AsyncIterator[RunStore]:
    repo = RunStore(store)
    yield repo
    await repo.writer.close()


def runtime(m: Manifest, runs: RunStore, service: ApprovalService) -> Runtime:
    registry = HandlerRegistry()
    registry.add(change)
    registry.add(probe)
    return Runtime(m, runs, registry=registry, layers=[
        ForensicLayer(), ApprovalLayer(service, m.approvals, "ops"), IdempotencyLayer(runs),
        TimeoutLayer()])


async def test_resuming_a_cancelled_run_asks_again_with_a_new_request(
        runs: RunStore, service: ApprovalService, people: dict[str, User]) -> None:
    rt = runtime(manifest(), runs, service)
    first = await rt.run("fix")
    assert first.status == "waiting"
    (old,) = await service.queue()
    # What the server's cancel does for a waiting run: record it, then withdraw.
    await runs.finish_run(first.run_id, "cancelled", "cancelled by alice")
    await service.withdraw_run(first.run_id, actor="alice", reason="cancelled by alice")
    assert await service.queue() == []

    again = await rt.resume(first.run_id)
    assert again.status == "waiting" and CALLS == []  # not run: withdrawn is no approval
    assert again.steps["disk.wipe"].status == "waiting"
    (new,) = await service.queue()
    assert new.id != old.id and new.status == "pending" and new.step_id == old.step_id
    assert (await service.get(old.id)).status == "withdrawn"
    assert (await rt.resume(first.run_id)).status == "waiting"  # finds the new one, no third
    assert len(await service.queue(statuses=None, run_id=first.run_id)) == 2

    await service.approve(new.id, people["alice"])
    done = await rt.resume(first.run_id)
    assert done.status == "succeeded" and CALLS == [{"path": "/tmp/a"}]
    assert (await service.get(new.id)).status == "executed"
    assert (await service.get(old.id)).status == "withdrawn"


async def test_a_request_withdrawn_while_its_step_waits_never_runs(
        runs: RunStore, service: ApprovalService) -> None:
    rt = runtime(manifest(wait_seconds=30), runs, service)
    task = asyncio.create_task(rt.run("fix"))
    deadline = time.monotonic() + 30
    while not await service.queue():
        assert time.monotonic() < deadline, "no approval request was stored"
        await asyncio.sleep(0.01)
    (req,) = await service.queue()
    await service.withdraw_run(req.run_id, actor="bob", reason="cancelled by bob")
    result = await asyncio.wait_for(task, 10)  # woken at once, not after 30 s
    assert result.status == "waiting" and CALLS == []
    assert "was withdrawn while the step waited" in (result.steps["disk.wipe"].error or "")


def _settings(tmp_path: Path, store_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=store_url)


async def _start_and_cancel(settings: Settings, requester: str) -> str:
    """Start `fix` through `open_runtime`, cancel it while it waits in-process (as Ctrl-C
    does), and return the run id once the runtime has closed."""
    async with open_runtime(manifest(wait_seconds=60), settings=settings, requester=requester,
                            handlers=[change, probe]) as rt:
        service = ApprovalService(rt.runs.store)
        task = asyncio.create_task(rt.run("fix"))
        deadline = time.monotonic() + 30
        while not await service.queue():
            assert time.monotonic() < deadline, "no approval request was stored"
            await asyncio.sleep(0.02)
        (req,) = await service.queue()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return req.run_id


async def test_a_run_cancelled_while_it_waits_withdraws_its_request_via_open_runtime(
        store: Store, store_url: str, tmp_path: Path, people: dict[str, User]) -> None:
    settings = _settings(tmp_path, store_url)
    run_id = await _start_and_cancel(settings, requester="ops")
    service = ApprovalService(store)
    (req,) = await service.queue(statuses=None, run_id=run_id)
    assert req.status == "withdrawn"
    assert req.outcome == {"status": "withdrawn", "by": "ops",
                           "reason": "run cancelled: cancelled by the user"}
    assert (await RunStore(store).get_run(run_id)).status == "cancelled"
    trail = [r async for r in service.audit.records(request_id=req.id)]
    assert [(r.kind, r.actor) for r in trail] == [("request.created", "ops"),
                                                 ("request.withdrawn", "ops")]
    assert await service.queue() == []

    async with open_runtime(manifest(), settings=settings, requester="ops",
                            handlers=[change, probe]) as rt:
        again = await rt.resume(run_id)
    assert again.status == "waiting" and CALLS == []
    (new,) = await service.queue()
    assert new.id != req.id and new.run_id == run_id


async def test_a_failed_withdrawal_leaves_the_run_cancelled(
        store: Store, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: ApprovalService, *args: Any, **kw: Any) -> Any:
        raise OSError("store went away")

    monkeypatch.setattr(ApprovalService, "withdraw_run", broken)
    run_id = await _start_and_cancel(_settings(tmp_path, store_url), requester="ops")
    assert (await RunStore(store).get_run(run_id)).status == "cancelled"
    (req,) = await ApprovalService(store).queue(run_id=run_id)
    assert req.status == "pending"  # as before withdrawals existed; logged, not raised
