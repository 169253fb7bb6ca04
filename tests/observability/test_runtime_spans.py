"""Run and action spans from a real Runtime: parenting across tasks, gather, threads."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from typing import Any

import pytest
from opentelemetry.trace import StatusCode
from tests.observability.obs_helpers import Traced

from aios.errors import ActionSuspended
from aios.manifest import Manifest
from aios.observability import SPANS, get_trace
from aios.runtime import ActionContext, HandlerRegistry, Runtime, default_layers, handler
from aios.store import RunStore

HOOK: dict[str, Any] = {}


@handler("obs.ok")
async def ok(ctx: ActionContext) -> int:
    return 1


@handler("obs.sync")
def sync_step(ctx: ActionContext) -> str:
    # A sync handler runs in asyncio.to_thread, which copies the context: its spans nest.
    with HOOK["hook"].span("sync.work", kind="other"):
        pass
    return threading.current_thread().name


@handler("obs.fanout")
async def fanout(ctx: ActionContext) -> None:
    hook = HOOK["hook"]

    async def child(i: int) -> None:
        with hook.span(f"gathered {i}"):
            await asyncio.sleep(0)

    await asyncio.gather(*(child(i) for i in range(3)))
    await asyncio.create_task(child(99))

    def in_thread() -> None:
        with hook.span("in thread"):
            pass

    # A plain thread does not copy the context by itself; copy_context().run does.
    ctx_copy = contextvars.copy_context()
    thread = threading.Thread(target=ctx_copy.run, args=(in_thread,))
    thread.start()
    thread.join()


@handler("obs.fail")
async def failing(ctx: ActionContext) -> None:
    raise ValueError("disk on fire")


@handler("obs.wait")
async def waiting(ctx: ActionContext) -> None:
    with HOOK["hook"].span(SPANS.APPROVAL_WAIT, kind="approval"):
        raise ActionSuspended("needs a human", action=ctx.action, reference="req-1")


def _registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    for fn in (ok, sync_step, fanout, failing, waiting):
        reg.add(fn)
    return reg


def _manifest(sequences: dict[str, Any]) -> Manifest:
    actions = {"ok": {"handler": "obs.ok"}, "sync": {"handler": "obs.sync"},
               "fanout": {"handler": "obs.fanout"},
               "fail": {"handler": "obs.fail", "criticality": "high", "mutates": True},
               "wait": {"handler": "obs.wait"}}
    return Manifest.model_validate({"agents": {"obs": {"actions": actions}},
                                    "sequences": sequences})


def _runtime(traced: Traced, runs: RunStore, manifest: Manifest, **kwargs: Any) -> Runtime:
    HOOK["hook"] = traced.tracing.hook
    return Runtime(manifest, runs, registry=_registry(), assume_yes=True,
                   layers=[traced.tracing.layer(), *default_layers(runs, assume_yes=True)],
                   listeners=[traced.tracing.listener()], **kwargs)


async def test_fan_out_of_1000_steps_gives_1000_children_of_the_run_span(
        traced: Traced, runs: RunStore) -> None:
    steps = [{"id": f"s{i}", "action": "obs.ok", "depends_on": []} for i in range(1000)]
    runtime = _runtime(traced, runs, _manifest({"wide": {"steps": steps}}), max_concurrency=64)
    result = await runtime.run("wide")
    assert result.ok
    await traced.tracing.flush()

    spans = traced.spans()
    (run_span,) = traced.named("run ")
    actions = traced.named("action ")
    assert len(actions) == 1000
    assert {s.parent.span_id for s in actions if s.parent} == {run_span.context.span_id}
    assert all(s.parent is not None for s in actions)
    assert {s.context.trace_id for s in spans} == {run_span.context.trace_id}  # no orphan
    assert run_span.parent is None
    assert run_span.attributes["aios.run.steps_succeeded"] == 1000

    # The same tree lands in the store.
    tree = await get_trace(traced.store, result.run_id)
    assert tree.span_count == 1001
    (root,) = tree.roots
    assert root.name == "run wide" and len(root.children) == 1000


async def test_consecutive_runs_in_one_task_are_separate_traces(
        traced: Traced, runs: RunStore) -> None:
    runtime = _runtime(traced, runs, _manifest({}))
    await runtime.execute("obs.ok")
    await runtime.execute("obs.ok")
    roots = traced.named("run ")
    assert len(roots) == 2 and all(r.parent is None for r in roots)
    assert roots[0].context.trace_id != roots[1].context.trace_id


async def test_action_span_carries_the_action_attributes(traced: Traced, runs: RunStore) -> None:
    runtime = _runtime(traced, runs, _manifest({}))
    result = await runtime.execute("obs.ok")
    (span,) = traced.named("action obs.ok")
    attrs = span.attributes
    assert attrs["aios.run_id"] == result.run_id
    assert attrs["aios.action"] == "obs.ok" and attrs["aios.agent"] == "obs"
    assert attrs["aios.step_id"] == "obs.ok" and attrs["aios.criticality"] == "low"
    assert attrs["aios.mutates"] is False and attrs["aios.forensic"] is False
    assert attrs["aios.status"] == "succeeded"


async def test_spans_nest_across_threads_gather_and_tasks(traced: Traced, runs: RunStore) -> None:
    runtime = _runtime(traced, runs, _manifest({"s": {"steps": [
        {"id": "a", "action": "obs.sync"}, {"id": "b", "action": "obs.fanout"}]}}))
    assert (await runtime.run("s")).ok
    (sync_action,) = traced.named("action obs.sync")
    (sync_work,) = traced.named("sync.work")
    assert sync_work.parent.span_id == sync_action.context.span_id
    (fan_action,) = traced.named("action obs.fanout")
    nested = traced.named("gathered ") + traced.named("in thread")
    assert len(nested) == 5
    assert {s.parent.span_id for s in nested} == {fan_action.context.span_id}


async def test_a_failed_action_records_the_exception_with_its_stack_trace(
        traced: Traced, runs: RunStore) -> None:
    runtime = _runtime(traced, runs, _manifest({"s": {"steps": [
        {"id": "a", "action": "obs.fail"}, {"id": "b", "action": "obs.ok"}]}}))
    result = await runtime.run("s")
    assert result.status == "failed"
    (span,) = traced.named("action obs.fail")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["aios.status"] == "failed"
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.type"] == "ValueError"
    assert "disk on fire" in event.attributes["exception.message"]
    assert "in failing" in event.attributes["exception.stacktrace"]
    (run_span,) = traced.named("run s")
    assert run_span.status.status_code is StatusCode.ERROR

    await traced.tracing.flush()
    tree = await get_trace(traced.store, result.run_id)
    failed = tree.roots[0].children[0]
    assert failed.error == "ValueError: disk on fire"
    assert failed.stacktrace and "Traceback" in failed.stacktrace


async def test_suspended_action_and_its_approval_wait_are_traced(
        traced: Traced, runs: RunStore) -> None:
    runtime = _runtime(traced, runs, _manifest({}))
    result = await runtime.execute("obs.wait")
    assert result.status == "waiting"
    (action,) = traced.named("action obs.wait")
    assert action.attributes["aios.status"] == "waiting"
    assert action.attributes["aios.suspended.reference"] == "req-1"
    (wait,) = traced.named(SPANS.APPROVAL_WAIT)
    assert wait.parent.span_id == action.context.span_id
    assert wait.attributes["aios.kind"] == "approval"


async def test_hook_events_land_on_the_current_span(traced: Traced) -> None:
    hook = traced.tracing.hook
    with traced.tracing.tracer.start_as_current_span("outer"):
        hook.event("retry", {"aios.retry.attempt": 2, "aios.retry.error": None})
        with hook.span(SPANS.RETRY_ATTEMPT, kind="retry", attributes={"n": 1}):
            hook.event("breaker.transition", {"from": "closed", "to": "open"})
    hook.event("outside any span")  # no span: nothing happens, nothing fails
    (outer,) = traced.named("outer")
    assert [(e.name, dict(e.attributes)) for e in outer.events] == [
        ("retry", {"aios.retry.attempt": 2})]
    (attempt,) = traced.named(SPANS.RETRY_ATTEMPT)
    assert attempt.parent.span_id == outer.context.span_id
    assert [e.name for e in attempt.events] == ["breaker.transition"]


@handler("obs.slow")
async def slow(ctx: ActionContext) -> None:
    await asyncio.sleep(30)


async def test_a_cancelled_run_ends_its_span_without_context_errors(
        traced: Traced, runs: RunStore, caplog: pytest.LogCaptureFixture) -> None:
    registry = _registry()
    registry.add(slow)
    manifest = Manifest.model_validate({"agents": {"obs": {"actions": {
        "slow": {"handler": "obs.slow", "timeout": None}}}}})
    runtime = Runtime(manifest, runs, registry=registry, layers=[traced.tracing.layer()],
                      listeners=[traced.tracing.listener()])
    task = asyncio.create_task(runtime.execute("obs.slow"))
    await asyncio.sleep(0.2)
    task.cancel()
    with caplog.at_level(logging.ERROR), pytest.raises(asyncio.CancelledError):
        await task
    (run_span,) = traced.named("run obs.slow")
    assert run_span.attributes["aios.status"] == "cancelled"
    (action,) = traced.named("action obs.slow")
    assert action.attributes["aios.status"] == "cancelled"
    assert not [r for r in caplog.records if "detach" in r.getMessage()]
