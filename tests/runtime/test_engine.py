"""The engine: ordering, concurrency, failures, timeouts, forensic mode, durability, resume."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from aios.errors import ActionSuspended, NotFoundError
from aios.manifest import Manifest
from aios.runtime import ActionContext, HandlerRegistry, Runtime, handler
from aios.runtime.events import RunFinished, StepFinished, StepStarted
from aios.store import RunStore

LOG: list[str] = []


@handler("t.record")
async def record(ctx: ActionContext) -> dict[str, Any]:
    LOG.append(ctx.step_id)
    ctx.publish_metadata("seen", ctx.step_id)
    return {"step": ctx.step_id}


@handler("t.sync")
def sync_handler(ctx: ActionContext) -> dict[str, Any]:
    return {"thread": threading.current_thread().name != "MainThread"}


@handler("t.fail")
async def fail(ctx: ActionContext) -> None:
    raise RuntimeError("boom")


@handler("t.slow")
async def slow(ctx: ActionContext) -> None:
    await asyncio.sleep(float(ctx.args.get("seconds", 5)))


@handler("t.concurrency")
async def concurrency(ctx: ActionContext) -> None:
    state = ctx.args["state"]
    state["now"] += 1
    state["peak"] = max(state["peak"], state["now"])
    await asyncio.sleep(0.01)
    state["now"] -= 1


@handler("t.mutate")
async def mutate(ctx: ActionContext) -> dict[str, Any]:
    LOG.append(f"mutated:{ctx.step_id}")
    return {"changed": True}


@handler("t.suspend")
async def suspend(ctx: ActionContext) -> None:
    raise ActionSuspended("waiting for a human", action=ctx.action)


def registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    for fn in (record, sync_handler, fail, slow, concurrency, mutate, suspend):
        reg.add(fn)
    return reg


def manifest(sequences: dict[str, Any], **actions: dict[str, Any]) -> Manifest:
    base: dict[str, dict[str, Any]] = {
        "rec": {"handler": "t.record"},
        "sync": {"handler": "t.sync"},
        "fail": {"handler": "t.fail"},
        "slow": {"handler": "t.slow", "timeout": 0.05},
        "conc": {"handler": "t.concurrency"},
        "mutate": {"handler": "t.mutate", "mutates": True, "criticality": "high"},
        "mutate_low": {"handler": "t.mutate", "mutates": True, "criticality": "low"},
        "suspend": {"handler": "t.suspend"},
        "typed": {"handler": "t.record", "inputs": {
            "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}},
    }
    base.update(actions)
    return Manifest.model_validate({"agents": {"t": {"actions": base}},
                                    "sequences": sequences})


@pytest.fixture(autouse=True)
def _clear_log() -> None:
    LOG.clear()


def steps(*items: Any) -> dict[str, Any]:
    return {"steps": list(items)}


async def test_list_sequence_runs_steps_in_order_and_records_them(runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "a", "action": "t.rec"}, {"id": "b", "action": "t.rec"},
                             {"id": "c", "action": "t.rec"})})
    result = await Runtime(m, runs, registry=registry()).run("s")
    assert result.ok and LOG == ["a", "b", "c"]
    stored = await runs.get_run(result.run_id)
    assert stored.status == "succeeded"
    assert [(s.step_id, s.status) for s in stored.steps] == [
        ("a", "succeeded"), ("b", "succeeded"), ("c", "succeeded")]
    assert stored.steps[0].result == {"step": "a"}
    assert stored.metadata == {"t.rec": {"seen": "c"}}


async def test_dag_respects_dependencies(runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "late", "action": "t.rec", "depends_on": ["a", "b"]},
                             {"id": "a", "action": "t.rec", "depends_on": []},
                             {"id": "b", "action": "t.rec", "depends_on": ["a"]})})
    result = await Runtime(m, runs, registry=registry()).run("s")
    assert result.ok
    assert LOG.index("a") < LOG.index("b") < LOG.index("late")


async def test_fan_out_is_bounded_by_max_concurrency(runs: RunStore) -> None:
    state = {"now": 0, "peak": 0}
    # The shared counter reaches the handlers through the action's params.
    m = manifest({"s": steps(*({"id": f"s{i}", "action": "t.conc", "depends_on": []}
                               for i in range(40)))},
                 conc={"handler": "t.concurrency", "params": {"state": state}})
    result = await Runtime(m, runs, registry=registry(), max_concurrency=4).run("s")
    assert result.ok
    assert state["peak"] == 4


async def test_sync_handlers_run_in_a_worker_thread(runs: RunStore) -> None:
    result = await Runtime(manifest({}), runs, registry=registry()).execute("t.sync")
    assert next(iter(result.steps.values())).result == {"thread": True}


async def test_critical_failure_stops_the_sequence(runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "a", "action": "t.fail"}, {"id": "b", "action": "t.rec"})})
    result = await Runtime(m, runs, registry=registry()).run("s")
    assert result.status == "failed"
    assert "critical step a failed: RuntimeError: boom" in (result.error or "")
    assert result.steps["b"].status == "cancelled"
    assert LOG == []
    stored = await runs.get_run(result.run_id)
    assert {s.step_id: s.status for s in stored.steps} == {"a": "failed", "b": "cancelled"}


async def test_critical_failure_cancels_running_siblings(runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "slow", "action": "t.slow", "depends_on": []},
                             {"id": "bad", "action": "t.fail", "depends_on": []})},
                 slow={"handler": "t.slow", "timeout": None})
    result = await asyncio.wait_for(Runtime(m, runs, registry=registry()).run("s"), 5)
    assert result.status == "failed"
    assert result.steps["slow"].status == "cancelled"


async def test_non_critical_failure_is_recorded_and_the_sequence_goes_on(runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "a", "action": "t.fail", "critical": False},
                             {"id": "b", "action": "t.rec"})})
    result = await Runtime(m, runs, registry=registry()).run("s")
    assert result.ok
    assert result.steps["a"].status == "failed" and "boom" in (result.steps["a"].error or "")
    assert LOG == ["b"]


async def test_timeout_fails_the_step_with_a_clear_message(runs: RunStore) -> None:
    result = await Runtime(manifest({}), runs, registry=registry()).execute("t.slow")
    outcome = next(iter(result.steps.values()))
    assert outcome.status == "failed"
    assert "ActionTimeout" in (outcome.error or "") and "0.05 s" in (outcome.error or "")


async def test_forensic_mode_skips_mutating_actions_and_runs_the_rest(runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "m", "action": "t.mutate_low"},
                             {"id": "r", "action": "t.rec"})})
    result = await Runtime(m, runs, registry=registry(), forensic=True,
                           assume_yes=True).run("s")
    assert result.ok
    assert result.steps["m"].status == "skipped"
    assert "forensic" in (result.steps["m"].error or "")
    assert LOG == ["r"]


async def test_high_criticality_mutation_needs_confirmation(runs: RunStore) -> None:
    result = await Runtime(manifest({}), runs, registry=registry()).execute("t.mutate")
    outcome = next(iter(result.steps.values()))
    assert outcome.status == "skipped" and "--yes" in (outcome.error or "")
    assert LOG == []
    result = await Runtime(manifest({}), runs, registry=registry(),
                           assume_yes=True).execute("t.mutate")
    assert next(iter(result.steps.values())).status == "succeeded"
    assert LOG == ["mutated:t.mutate"]


async def test_arguments_are_checked_against_the_input_schema(runs: RunStore) -> None:
    rt = Runtime(manifest({}), runs, registry=registry())
    bad = await rt.execute("t.typed", {"n": "three"})
    error = next(iter(bad.steps.values())).error or ""
    assert "invalid arguments" in error and "n:" in error
    missing = await rt.execute("t.typed", {})
    assert "'n' is a required property" in (next(iter(missing.steps.values())).error or "")
    good = await rt.execute("t.typed", {"n": 3})
    assert good.ok


async def test_unknown_sequence_and_action_are_not_found(runs: RunStore) -> None:
    rt = Runtime(manifest({}), runs, registry=registry())
    with pytest.raises(NotFoundError, match="no sequence 'nope'"):
        await rt.run("nope")
    with pytest.raises(NotFoundError, match=r"no action 't\.nope'"):
        await rt.execute("t.nope")


async def test_listeners_see_every_step(runs: RunStore) -> None:
    events: list[Any] = []
    m = manifest({"s": steps({"id": "a", "action": "t.rec"}, {"id": "b", "action": "t.fail",
                                                              "critical": False})})
    await Runtime(m, runs, registry=registry(), listeners=[events.append]).run("s")
    kinds = [(type(e).__name__, getattr(e, "step_id", None)) for e in events]
    assert kinds[1:] == [("StepStarted", "a"), ("StepFinished", "a"), ("StepStarted", "b"),
                         ("StepFinished", "b"), ("RunFinished", None)]
    assert isinstance(events[-1], RunFinished) and events[-1].status == "succeeded"
    assert isinstance(events[2], StepFinished) and isinstance(events[1], StepStarted)


async def test_cancellation_is_recorded(runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "slow", "action": "t.slow"}, {"id": "b", "action": "t.rec"})},
                 slow={"handler": "t.slow", "timeout": None})
    rt = Runtime(m, runs, registry=registry())
    task = asyncio.create_task(rt.run("s", run_id="cancelme"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = await runs.get_run("cancelme")
    assert stored.status == "cancelled"
    assert {s.step_id: s.status for s in stored.steps} == {"slow": "cancelled",
                                                           "b": "cancelled"}


async def test_resume_runs_only_unfinished_steps(runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "a", "action": "t.rec"}, {"id": "b", "action": "t.fail"},
                             {"id": "c", "action": "t.rec"})})
    first = await Runtime(m, runs, registry=registry()).run("s")
    assert first.status == "failed" and LOG == ["a"]
    # The cause is fixed: "b" now points at a handler that works.
    fixed = manifest({"s": steps({"id": "a", "action": "t.rec"}, {"id": "b", "action": "t.rec"},
                                 {"id": "c", "action": "t.rec"})})
    resumed = await Runtime(fixed, runs, registry=registry()).resume(first.run_id)
    assert resumed.ok
    assert LOG == ["a", "b", "c"]
    assert resumed.steps["a"].result == {"step": "a"}


async def test_resume_never_executes_a_finished_mutation_twice(runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "m", "action": "t.mutate_low"},
                             {"id": "f", "action": "t.fail"})})
    first = await Runtime(m, runs, registry=registry()).run("s")
    assert first.status == "failed" and LOG == ["mutated:m"]
    stored = await runs.get_run(first.run_id)
    # Pretend the process died right after the mutation, before its step was marked done.
    runs.step_event(first.run_id, "m", "t.mutate_low", "running")
    await runs.writer.flush()
    assert {s.step_id: s.status for s in (await runs.get_run(first.run_id)).steps}["m"] == \
        "running"
    resumed = await Runtime(m, runs, registry=registry()).resume(stored.id)
    assert LOG == ["mutated:m"], "the mutation ran again"
    assert resumed.steps["m"].status == "succeeded"
    assert resumed.steps["m"].result == {"changed": True}


async def test_a_mutation_whose_outcome_is_unknown_is_refused(runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "m", "action": "t.mutate_low"})})
    rt = Runtime(m, runs, registry=registry())
    from aios.runtime.layers import idempotency_key

    # A claim left "started" by a process that died while the mutation ran.
    await runs.create_run("r1", kind="sequence", target="s", forensic=False, manifest_name="x",
                          manifest_path=None, manifest_digest="", options={})
    claimed = await runs.claim(idempotency_key("r1", "m", {}), run_id="r1", step_id="m",
                               action="t.mutate_low")
    assert claimed is None
    from sqlalchemy import update

    from aios.store.tables import runs as runs_table

    async with runs.store.engine.begin() as conn:  # the row names that dead process
        await conn.execute(update(runs_table).values(pid=2**22 + 12345))
    result = await rt.resume("r1")
    assert result.status == "failed"
    assert "DuplicateExecution" in (result.steps["m"].error or "")
    assert LOG == []


async def test_suspended_step_leaves_the_run_waiting_and_holds_its_dependents(
        runs: RunStore) -> None:
    m = manifest({"s": steps({"id": "w", "action": "t.suspend", "depends_on": []},
                             {"id": "after", "action": "t.rec", "depends_on": ["w"]},
                             {"id": "free", "action": "t.rec", "depends_on": []})})
    result = await Runtime(m, runs, registry=registry()).run("s")
    assert result.status == "waiting"
    assert result.steps["w"].status == "waiting"
    assert result.steps["after"].status == "pending"
    assert LOG == ["free"]
    assert (await runs.get_run(result.run_id)).status == "waiting"


async def test_run_ids_can_be_given_by_prefix(runs: RunStore) -> None:
    result = await Runtime(manifest({}), runs, registry=registry()).execute("t.rec")
    assert (await runs.get_run(result.run_id[:8])).id == result.run_id
    with pytest.raises(NotFoundError, match="no run with id 'zzzz'"):
        await runs.get_run("zzzz")


async def test_a_store_that_stops_accepting_writes_inside_a_step_ends_the_run(
        runs: RunStore) -> None:
    # The writer refusing a step's row raises inside the step's task, not in the loop that
    # waits for the step's outcome: that loop must end the run with the error, not wait for
    # ever (a full disk hung the run this way when the refusal reached a step first).
    from aios.errors import StoreError

    class Refusing(RunStore):
        def step_event(self, run_id: str, step_id: str, action: str, status: str,
                       **kwargs: Any) -> None:
            if step_id == "b" and status == "succeeded":
                raise StoreError("the store stopped accepting writes: the disk is full")
            super().step_event(run_id, step_id, action, status, **kwargs)

    refusing = Refusing(runs.store, runs.writer)
    m = manifest({"s": steps({"id": "a", "action": "t.rec", "depends_on": []},
                             {"id": "b", "action": "t.rec", "depends_on": []},
                             {"id": "c", "action": "t.rec", "depends_on": ["b"]})})
    task = asyncio.ensure_future(Runtime(m, refusing, registry=registry()).run("s"))
    done, _ = await asyncio.wait({task}, timeout=60)  # a bound on a hang, not a timing
    if not done:
        task.cancel()
    assert done, "the run waited for ever for the outcome of the step whose write failed"
    with pytest.raises(StoreError, match="disk is full"):
        task.result()
    assert "c" not in LOG  # nothing ran after the run broke
