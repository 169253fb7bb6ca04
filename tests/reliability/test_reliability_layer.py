"""ReliabilityLayer in the real runtime pipeline, on real stores: retries, breaker, timeouts,
fallbacks, and never running a mutating action twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from aios.app import load_manifest
from aios.errors import ActionTimeout, ManifestError, TransientProviderError
from aios.manifest import Manifest
from aios.reliability import (
    BreakerTransition,
    FallbackUsed,
    NoSleepClock,
    ReliabilityLayer,
    ReliabilityPolicy,
    RetryScheduled,
)
from aios.runtime import ActionContext, HandlerRegistry, Runtime, handler
from aios.runtime.layers import ConfirmationLayer, ForensicLayer, IdempotencyLayer, TimeoutLayer
from aios.store import RunStore

CALLS: Counter[str] = Counter()
SIDE_EFFECTS: list[str] = []
ATTEMPTS: list[int] = []


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()
    SIDE_EFFECTS.clear()
    ATTEMPTS.clear()


@handler("t.flaky")
async def flaky(ctx: ActionContext) -> dict[str, Any]:
    """Fails transiently `fail_times` times, then succeeds."""
    CALLS["flaky"] += 1
    ATTEMPTS.append(ctx.attempt)
    if CALLS["flaky"] <= int(ctx.args.get("fail_times", 2)):
        raise TransientProviderError("HTTP 503 from the model", provider="openai", status=503)
    return {"attempt": ctx.attempt}


@handler("t.mutate_then_fail")
async def mutate_then_fail(ctx: ActionContext) -> None:
    """Performs its side effect, then fails transiently (a timeout reading the reply)."""
    CALLS["mutate"] += 1
    SIDE_EFFECTS.append(ctx.idempotency_key or "?")
    raise TransientProviderError("connection reset after the write", provider="openai")


@handler("t.down")
async def down(ctx: ActionContext) -> None:
    CALLS["down"] += 1
    raise TransientProviderError("HTTP 503: the service is down", status=503)


@handler("t.bug")
async def bug(ctx: ActionContext) -> None:
    CALLS["bug"] += 1
    raise RuntimeError("a bug, not a transient failure")


@handler("t.backup")
async def backup(ctx: ActionContext) -> dict[str, Any]:
    CALLS["backup"] += 1
    return {"served_by": ctx.action, "args": ctx.args}


@handler("t.backup_mutation")
async def backup_mutation(ctx: ActionContext) -> dict[str, Any]:
    CALLS["backup_mutation"] += 1
    SIDE_EFFECTS.append(f"backup:{ctx.idempotency_key}")
    return {"backup": True}


@handler("t.slow_first")
async def slow_first(ctx: ActionContext) -> str:
    CALLS["slow"] += 1
    if CALLS["slow"] == 1:
        await asyncio.sleep(30)
    return "fast"


def registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    for fn in (flaky, mutate_then_fail, down, bug, backup, backup_mutation, slow_first):
        reg.add(fn)
    return reg


FAST = {"retry": {"attempts": 3, "initial_backoff_s": 0.5}}


def manifest(actions: dict[str, Any], reliability: dict[str, Any] | None = None) -> Manifest:
    return Manifest.model_validate({"agents": {"t": {"actions": actions}},
                                    "reliability": reliability or {}})


def runtime(m: Manifest, runs: RunStore, *, events: list | None = None,
            layer_runs: RunStore | bool | None = True, clock: NoSleepClock | None = None
            ) -> Runtime:
    reg = registry()
    layer = ReliabilityLayer(m.reliability, reg.resolve, actions=m.action,
                             runs=runs if layer_runs is True else None,
                             clock=clock or NoSleepClock(),
                             listeners=[events.append] if events is not None else [])
    # The lead's order: reliability just outside idempotency and the timeout.
    layers = [ForensicLayer(), ConfirmationLayer(assume_yes=True), layer, IdempotencyLayer(runs),
              TimeoutLayer()]
    return Runtime(m, runs, registry=reg, layers=layers)


async def test_a_transient_failure_is_retried_until_the_action_succeeds(runs: RunStore) -> None:
    events: list = []
    m = manifest({"flaky": {"handler": "t.flaky", "reliability": FAST}})
    result = await asyncio.wait_for(runtime(m, runs, events=events).execute("t.flaky"), 10)
    assert result.ok, result.error
    assert CALLS["flaky"] == 3 and ATTEMPTS == [1, 2, 3]
    assert result.steps["t.flaky"].result == {"attempt": 3}
    retries = [e for e in events if isinstance(e, RetryScheduled)]
    assert [e.target for e in retries] == ["action:t.flaky"] * 2


async def test_without_a_policy_nothing_is_retried(runs: RunStore) -> None:
    m = manifest({"flaky": {"handler": "t.flaky"}})
    result = await runtime(m, runs).execute("t.flaky")
    assert result.status == "failed" and CALLS["flaky"] == 1


async def test_a_manifest_glob_policy_applies(runs: RunStore) -> None:
    m = manifest({"flaky": {"handler": "t.flaky"}}, reliability={"t.*": FAST})
    assert (await runtime(m, runs).execute("t.flaky")).ok
    assert CALLS["flaky"] == 3


async def test_attempts_bound_the_retries(runs: RunStore) -> None:
    m = manifest({"flaky": {"handler": "t.flaky", "params": {"fail_times": 10},
                            "reliability": FAST}})
    result = await runtime(m, runs).execute("t.flaky")
    assert result.status == "failed" and CALLS["flaky"] == 3
    assert "gave up after 3 attempts" in (result.error or "")


async def test_a_non_transient_failure_is_not_retried(runs: RunStore) -> None:
    m = manifest({"bug": {"handler": "t.bug", "reliability": FAST}})
    result = await runtime(m, runs).execute("t.bug")
    assert result.status == "failed" and CALLS["bug"] == 1


async def test_a_mutating_action_that_fails_after_its_side_effect_never_runs_twice(
        runs: RunStore) -> None:
    m = manifest({"write": {"handler": "t.mutate_then_fail", "mutates": True,
                            "reliability": {"retry": {"attempts": 5}}}})
    rt = runtime(m, runs)
    result = await asyncio.wait_for(rt.execute("t.write"), 10)
    assert result.status == "failed"
    assert CALLS["mutate"] == 1 and len(SIDE_EFFECTS) == 1
    error = result.steps["t.write"].error or ""
    assert "connection reset after the write" in error  # the real cause, not a duplicate error
    assert "not retried: t.write mutates and already started" in error
    # A resume does not run it again either: the durable claim refuses.
    resumed = await asyncio.wait_for(rt.resume(result.run_id), 10)
    assert resumed.status == "failed" and CALLS["mutate"] == 1
    assert "DuplicateExecution" in (resumed.steps["t.write"].error or "")


async def test_without_the_claim_lookup_the_idempotency_claim_still_prevents_a_rerun(
        runs: RunStore) -> None:
    m = manifest({"write": {"handler": "t.mutate_then_fail", "mutates": True,
                            "reliability": {"retry": {"attempts": 5}}}})
    result = await runtime(m, runs, layer_runs=None).execute("t.write")
    assert result.status == "failed" and CALLS["mutate"] == 1 and len(SIDE_EFFECTS) == 1


async def test_a_mutating_action_is_not_executed_twice_by_its_fallback(runs: RunStore) -> None:
    m = manifest({
        "write": {"handler": "t.mutate_then_fail", "mutates": True,
                  "reliability": {"retry": {"attempts": 3}, "fallback": ["t.write_backup"]}},
        "write_backup": {"handler": "t.backup_mutation", "mutates": True},
    })
    rt = runtime(m, runs)
    result = await rt.execute("t.write")
    assert result.ok, result.error
    assert CALLS["mutate"] == 1 and CALLS["backup_mutation"] == 1
    primary_key, backup_key = SIDE_EFFECTS[0], SIDE_EFFECTS[1].removeprefix("backup:")
    assert primary_key != backup_key  # the fallback ran under a claim of its own
    claim = await runs.get_claim(backup_key)
    assert claim is not None and claim.status == "succeeded"


async def test_fallback_to_another_action_runs_it_through_the_pipeline(runs: RunStore) -> None:
    events: list = []
    m = manifest({
        "down": {"handler": "t.down", "params": {"q": 1},
                 "reliability": {**FAST, "fallback": ["t.spare"]}},
        "spare": {"handler": "t.backup", "params": {"extra": True}},
    })
    result = await runtime(m, runs, events=events).execute("t.down", {"q": 2})
    assert result.ok, result.error
    assert CALLS["down"] == 3 and CALLS["backup"] == 1
    assert result.steps["t.down"].result == {"served_by": "t.spare",
                                             "args": {"q": 2, "extra": True}}
    used = [e for e in events if isinstance(e, FallbackUsed)]
    assert used and used[0].failed == "action t.down" and used[0].next == "action t.spare"


async def test_fallback_to_a_handler_reference(runs: RunStore) -> None:
    m = manifest({"down": {"handler": "t.down", "reliability": {**FAST,
                                                                "fallback": ["t.backup"]}}})
    result = await runtime(m, runs).execute("t.down")
    assert result.ok and result.steps["t.down"].result["served_by"] == "t.down"


async def test_an_unresolvable_fallback_is_skipped_and_named(runs: RunStore) -> None:
    m = manifest({"down": {"handler": "t.down",
                           "reliability": {**FAST, "fallback": ["no.such:thing"]}}})
    result = await runtime(m, runs).execute("t.down")
    assert result.status == "failed"
    assert "no.such:thing: skipped" in (result.error or "")


async def test_a_fallback_never_does_more_than_the_gates_cleared(runs: RunStore) -> None:
    m = manifest({
        "down": {"handler": "t.down", "reliability": {**FAST, "fallback": [
            "t.writer", "t.critical", "t.spare"]}},
        "writer": {"handler": "t.backup_mutation", "mutates": True},
        "critical": {"handler": "t.backup", "criticality": "critical"},
        "spare": {"handler": "t.backup"},
    })
    result = await runtime(m, runs).execute("t.down")
    assert result.ok and result.steps["t.down"].result["served_by"] == "t.spare"
    assert CALLS["backup_mutation"] == 0 and CALLS["backup"] == 1


async def test_the_action_breaker_opens_then_fails_fast(runs: RunStore) -> None:
    events: list = []
    policy = {"retry": {"attempts": 1},
              "breaker": {"window": 4, "min_calls": 3, "failure_rate": 0.5, "cooldown_s": 60}}
    m = manifest({"down": {"handler": "t.down", "reliability": policy}})
    rt = runtime(m, runs, events=events)
    for _ in range(3):
        await rt.execute("t.down")
    assert CALLS["down"] == 3
    result = await rt.execute("t.down")
    assert CALLS["down"] == 3  # failed fast: the handler was not called
    assert "ActionCircuitOpen" in (result.error or "") and "aios breakers" in (result.error or "")
    assert any(isinstance(e, BreakerTransition) and e.new == "open" for e in events)


async def test_the_action_breaker_recovers_after_the_cooldown(runs: RunStore) -> None:
    clock = NoSleepClock()
    policy = {"retry": {"attempts": 1},
              "breaker": {"window": 4, "min_calls": 2, "failure_rate": 0.5, "cooldown_s": 60}}
    m = manifest({"flaky": {"handler": "t.flaky", "params": {"fail_times": 2},
                            "reliability": policy}})
    rt = runtime(m, runs, clock=clock)
    await rt.execute("t.flaky")
    await rt.execute("t.flaky")
    assert "ActionCircuitOpen" in ((await rt.execute("t.flaky")).error or "")
    clock.advance(61)
    assert (await rt.execute("t.flaky")).ok  # the half-open trial succeeds: closed again
    assert (await rt.execute("t.flaky")).ok


async def test_a_per_attempt_timeout_is_retried(runs: RunStore) -> None:
    m = manifest({"slow": {"handler": "t.slow_first",
                           "reliability": {"timeout_s": 0.05, "retry": {"attempts": 2}}}})
    result = await asyncio.wait_for(runtime(m, runs).execute("t.slow"), 10)
    assert result.ok and CALLS["slow"] == 2


async def test_max_concurrency_limits_one_action(runs: RunStore) -> None:
    state = {"now": 0, "peak": 0}

    @handler("t.count")
    async def count(ctx: ActionContext) -> None:
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])
        await asyncio.sleep(0.01)
        state["now"] -= 1

    m = Manifest.model_validate({
        "agents": {"t": {"actions": {"count": {"handler": "t.count",
                                               "reliability": {"max_concurrency": 2}}}}},
        "sequences": {"fan": {"steps": [{"id": f"s{i}", "action": "t.count",
                                         "depends_on": []} for i in range(10)]}}})
    reg = registry()
    reg.add(count)
    layer = ReliabilityLayer(m.reliability, reg.resolve, actions=m.action, runs=runs,
                             clock=NoSleepClock())
    result = await Runtime(m, runs, registry=reg, layers=[layer, IdempotencyLayer(runs)]).run(
        "fan")
    assert result.ok and state["peak"] == 2


def test_manifest_reliability_errors_point_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("agents:\n  t:\n    actions:\n      a:\n        handler: kernel.processes\n"
                    "        reliability:\n          retry:\n            retry_on: [Nope]\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert "Nope" in str(info.value) and "m.yaml:" in str(info.value)


def test_policy_precedence() -> None:
    from aios.reliability import policy_for

    star, kernel, exact = (ReliabilityPolicy(timeout_s=t) for t in (1, 2, 3))
    table = {"*": star, "kernel.*": kernel, "kernel.ps": exact}
    assert policy_for("kernel.ps", table) is exact
    assert policy_for("kernel.top", table) is kernel
    assert policy_for("user.who", table) is star
    own = ReliabilityPolicy(timeout_s=9)
    assert policy_for("kernel.ps", table, own=own) is own
    assert policy_for("x", {}, default=None) is None


def test_action_timeout_is_transient_for_the_layer() -> None:
    from aios.reliability import Classifier

    assert Classifier().retryable(ActionTimeout("late"))
