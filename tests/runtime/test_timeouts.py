"""A timed-out action is stopped, or its outcome is recorded as unknown (never "failed")."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aios.manifest import Manifest
from aios.runtime import ActionContext, HandlerRegistry, Runtime
from aios.runtime.executors import LocalExecutor
from aios.store import RunStore

# The handlers are named `timeout_handlers:...`; worker processes get the driver's sys.path.
sys.path.insert(0, str(Path(__file__).parent))


def manifest(**actions: dict[str, Any]) -> Manifest:
    return Manifest.model_validate({"agents": {"t": {"actions": actions}}, "sequences": {}})


def wait_until(check: Any, polls: int = 200) -> bool:
    for _ in range(polls):
        if check():
            return True
        time.sleep(0.05)
    return False


async def test_a_sync_mutating_handler_is_killed_at_its_deadline(runs: RunStore,
                                                                  tmp_path: Path) -> None:
    m = manifest(late={"handler": "timeout_handlers:write_later", "mutates": True,
                       "criticality": "low", "timeout": 0.5})
    target, started = tmp_path / "written", tmp_path / "started"
    rt = Runtime(m, runs, executor=LocalExecutor())
    result = await rt.execute("t.late", {"path": str(target), "started": str(started),
                                         "seconds": 3})
    step = next(iter(result.steps.values()))
    assert step.status == "failed" and "ActionTimeout" in (step.error or "")
    assert "stopped" in (step.error or "")
    assert started.exists()  # it did start, in a worker process ...
    # ... and never wrote: watch past the moment the handler would have written.
    assert not wait_until(target.exists, polls=80)


async def test_a_worker_process_reply_carries_result_and_published_metadata(
        runs: RunStore, tmp_path: Path) -> None:
    m = manifest(w={"handler": "timeout_handlers:publish_and_write", "mutates": True,
                    "criticality": "low", "timeout": 30})
    result = await Runtime(m, runs, executor=LocalExecutor()).execute(
        "t.w", {"path": str(tmp_path / "x")})
    assert result.ok and next(iter(result.steps.values())).result == {"ok": True}
    assert result.metadata == {"t.w": {"pid": "worker"}}
    assert (tmp_path / "x").read_text() == "written"


async def test_a_sync_handler_that_cannot_be_stopped_has_an_unknown_outcome(
        runs: RunStore) -> None:
    release = threading.Event()
    finished: list[str] = []

    def stuck(ctx: ActionContext) -> dict[str, Any]:  # a closure: no other process can run it
        release.wait(10)
        finished.append(ctx.step_id)
        return {"late": True}

    reg = HandlerRegistry()
    reg.add(stuck, "t.stuck")
    m = manifest(stuck={"handler": "t.stuck", "mutates": True, "criticality": "low",
                        "timeout": 0.2})
    rt = Runtime(m, runs, registry=reg, executor=LocalExecutor())
    result = await rt.execute("t.stuck")
    step = next(iter(result.steps.values()))
    assert step.status == "unknown", step
    assert "ActionOutcomeUnknown" in (step.error or "") and finished == []
    assert result.status == "failed" and "unknown outcome" in (result.error or "")
    from aios.runtime.layers import idempotency_key
    key = idempotency_key(result.run_id, step.step_id, {})
    claim = await runs.get_claim(key)
    assert claim is not None and claim.status == "unknown"
    # The thread finishes later: its completion is recorded, the claim stays unknown.
    release.set()
    for _ in range(100):
        await asyncio.sleep(0.02)
        await runs.writer.flush()
        claim = await runs.get_claim(key)
        stored = await runs.get_run(result.run_id)
        if claim and claim.result and "finished late" in (stored.steps[0].error or ""):
            break
    assert finished == [step.step_id]
    assert claim is not None and claim.status == "unknown" and claim.result == {"late": True}
    assert stored.steps[0].status == "unknown" and stored.steps[0].result == {"late": True}
    # A resume never runs it again: the claim refuses.
    again = await rt.resume(result.run_id)
    assert "DuplicateExecution" in (next(iter(again.steps.values())).error or "")


async def test_abandoned_threads_are_daemons(runs: RunStore) -> None:
    release = threading.Event()
    seen: list[bool] = []

    def stuck(ctx: ActionContext) -> None:
        seen.append(threading.current_thread().daemon)
        release.wait(10)

    reg = HandlerRegistry()
    reg.add(stuck, "t.stuck")
    rt = Runtime(manifest(stuck={"handler": "t.stuck", "timeout": 0.1}), runs, registry=reg)
    result = await rt.execute("t.stuck")
    release.set()
    assert next(iter(result.steps.values())).status == "unknown"
    assert seen == [True]  # a daemon thread never holds up the process's exit


async def test_an_async_handler_is_cancelled_and_its_timeout_is_a_failure(
        runs: RunStore) -> None:
    ended: list[str] = []

    async def slow(ctx: ActionContext) -> None:
        try:
            await asyncio.sleep(5)
        finally:
            ended.append("cancelled")

    reg = HandlerRegistry()
    reg.add(slow, "t.slow")
    rt = Runtime(manifest(slow={"handler": "t.slow", "mutates": True, "criticality": "low",
                                "timeout": 0.1}), runs, registry=reg, executor=LocalExecutor())
    result = await rt.execute("t.slow")
    step = next(iter(result.steps.values()))
    assert step.status == "failed" and "ActionTimeout" in (step.error or "")
    assert ended == ["cancelled"]


def test_worker_processes_use_a_start_method_that_is_safe_with_threads() -> None:
    assert LocalExecutor().processes.method in ("forkserver", "spawn")
    assert os.name != "posix" or LocalExecutor().processes.method == "forkserver"
