"""The harness on real stores: results recorded, failing targets contained, rate limits backed
off, interrupted runs resumed without redoing finished samples, summaries and pass@k."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.evaluation.eval_helpers import calls, say_rows, write_suite

from aios.errors import ConflictError, TransientProviderError
from aios.evaluation import (
    EvalStore,
    Harness,
    ResultRecord,
    TargetOutput,
    load_report,
    load_suite,
    register_target,
)
from aios.evaluation.targets import Target
from aios.store import Store

Sleep = tuple[list[float], Callable[[float], Any]]


async def test_suite_records_outputs_scores_and_summary(store: Store, tmp_path: Path) -> None:
    path = write_suite(tmp_path, say_rows(8, fail_every=4), evaluators=[
        "exact_match", {"name": "contains", "id": "has_w"}], concurrency=3, fail_under=0.9)
    report = await Harness(store).run(load_suite(path))
    s = report.summary
    assert (s.results, s.passed, s.failed, s.errors) == (8, 6, 2, 0)
    assert s.accuracy == 0.75 and s.success_rate == 1.0
    assert s.per_evaluator["exact_match"].pass_rate == 0.75
    assert s.per_evaluator["has_w"].passed == 6
    assert s.per_tag == {"even": {"n": 4, "accuracy": 0.5}, "odd": {"n": 4, "accuracy": 1.0}}
    assert s.latency_p95_s >= s.latency_p50_s > 0
    assert s.gate_passed is False and s.fail_under == 0.9
    assert sorted(calls(tmp_path)) == sorted(f"s{i}" for i in range(8))
    stored = await load_report(store, report.run.id[:8])
    assert stored.run.status == "succeeded" and stored.summary == s
    by_id = {r.sample_id: r for r in stored.results}
    assert by_id["s1"].output == "w1" and by_id["s1"].scores["exact_match"].passed
    assert by_id["s0"].status == "failed" and by_id["s0"].expected == "other"


async def test_a_target_that_raises_is_recorded_and_the_suite_goes_on(store: Store,
                                                                       tmp_path: Path) -> None:
    path = write_suite(tmp_path, say_rows(6, boom=(1, 4)), evaluators=["exact_match"])
    report = await Harness(store).run(load_suite(path))
    failed = {r.sample_id: r for r in report.results if r.status == "error"}
    assert set(failed) == {"s1", "s4"}
    assert failed["s1"].error == "RuntimeError: the target exploded on s1"
    assert failed["s1"].scores == {} and failed["s1"].output is None
    s = report.summary
    assert s.results == 6 and s.target_errors == 2 and s.success_rate == pytest.approx(4 / 6)
    assert s.accuracy == pytest.approx(4 / 6)


class _Interrupt:
    """A progress hook that cancels the run after `after` results."""

    def __init__(self, after: int):
        self.after = after
        self.seen = 0
        self.task: asyncio.Task[Any] | None = None

    def start(self, total: int, done: int, description: str) -> None:
        self.start_args = (total, done)

    def advance(self, result: ResultRecord) -> None:
        self.seen += 1
        if self.seen == self.after and self.task is not None:
            self.task.cancel()


async def test_interrupted_run_resumes_without_redoing_finished_samples(
        store: Store, tmp_path: Path) -> None:
    path = write_suite(tmp_path, say_rows(12), evaluators=["exact_match"], concurrency=2)
    hook = _Interrupt(after=5)
    harness = Harness(store, progress=hook)
    hook.task = asyncio.ensure_future(harness.run(load_suite(path), run_id="r-interrupted"))
    with pytest.raises(asyncio.CancelledError):
        await hook.task
    evals = EvalStore(store)
    record = await evals.get_run("r-interrupted")
    assert record.status == "interrupted" and "--resume r-interrupted" in str(record.error)
    finished = await evals.done_items("r-interrupted")
    assert len(finished) >= 5
    before = calls(tmp_path)

    resumed = Harness(store, progress=_Interrupt(after=0))
    report = await resumed.run(resume="r-interrupted")
    assert resumed.progress.start_args == (12, len(finished))  # type: ignore[union-attr]
    after = calls(tmp_path)[len(before):]
    assert not {sid for sid, _ in finished} & set(after)  # no finished sample ran again
    assert sorted({*before, *after}) == sorted(f"s{i}" for i in range(12))
    assert report.run.status == "succeeded" and report.summary.results == 12
    assert report.summary.accuracy == 1.0
    assert await evals.count_results("r-interrupted") == 12


async def test_resume_refuses_a_changed_dataset(store: Store, tmp_path: Path) -> None:
    path = write_suite(tmp_path, say_rows(3), evaluators=["exact_match"])
    report = await Harness(store).run(load_suite(path))
    (tmp_path / "data.jsonl").write_text('{"input": "say changed", "target": "changed"}\n')
    with pytest.raises(ConflictError, match="changed since run"):
        await Harness(store).run(resume=report.run.id)


@register_target("test-flaky")
class _FlakyTarget(Target[Any]):
    """Rate-limited on the first attempts of each sample (retry_after 2s), then answers."""

    attempts: dict[str, int] = {}

    async def __call__(self, sample: Any) -> TargetOutput:
        n = self.attempts.get(sample.id, 0) + 1
        self.attempts[sample.id] = n
        if n <= 2:
            raise TransientProviderError("429 slow down", status=429, retry_after=2.0)
        return TargetOutput(output=sample.target, input_tokens=3, output_tokens=2,
                            cost_usd=0.001)


async def test_rate_limits_back_off_with_retry_after(store: Store, tmp_path: Path,
                                                     no_sleep: Sleep) -> None:
    delays, sleep = no_sleep
    _FlakyTarget.attempts = {}
    path = write_suite(tmp_path, say_rows(3), evaluators=["exact_match"],
                       target={"type": "test-flaky"}, concurrency=1)
    report = await Harness(store, sleep=sleep).run(load_suite(path))
    assert report.summary.accuracy == 1.0
    assert _FlakyTarget.attempts == {"s0": 3, "s1": 3, "s2": 3}
    assert delays and all(d <= 2.0 for d in delays) and delays.count(2.0) == 6
    assert report.summary.input_tokens == 9 and report.summary.cost_usd == pytest.approx(0.003)


async def test_retries_are_bounded_then_recorded(store: Store, tmp_path: Path,
                                                 no_sleep: Sleep) -> None:
    _, sleep = no_sleep
    _FlakyTarget.attempts = {}
    path = write_suite(tmp_path, say_rows(1), evaluators=["exact_match"],
                       target={"type": "test-flaky"}, max_retries=1)
    report = await Harness(store, sleep=sleep).run(load_suite(path))
    (result,) = report.results
    assert result.status == "error" and "429 slow down" in str(result.error)
    assert _FlakyTarget.attempts == {"s0": 2}


@register_target("test-coin")
class _CoinTarget(Target[Any]):
    """Right on the repeats listed in the sample's metadata, wrong otherwise."""

    seen: dict[str, int] = {}

    async def __call__(self, sample: Any) -> TargetOutput:
        attempt = self.seen.get(sample.id, 0)
        self.seen[sample.id] = attempt + 1
        right = attempt in sample.metadata["right_on"]
        return TargetOutput(output=sample.target if right else "wrong",
                            trajectory=("a", "b") if right else ("b",))


async def test_repeats_give_unbiased_pass_at_k_and_spread(store: Store,
                                                          tmp_path: Path) -> None:
    _CoinTarget.seen = {}
    rows = [{"id": "always", "input": "q", "target": "x", "metadata": {"right_on": [0, 1, 2]}},
            {"id": "once", "input": "q", "target": "x", "metadata": {"right_on": [1]}},
            {"id": "never", "input": "q", "target": "x", "metadata": {"right_on": []}}]
    path = write_suite(tmp_path, rows, evaluators=["exact_match"],
                       target={"type": "test-coin"}, repeats=3, concurrency=1)
    s = (await Harness(store).run(load_suite(path))).summary
    assert s.results == 9 and s.accuracy == pytest.approx(4 / 9)
    # pass@1 = mean(c/n) = (1 + 1/3 + 0)/3; pass@2 for "once" = 1 - C(2,2)/C(3,2) = 2/3
    assert s.pass_at_k[1] == pytest.approx((1 + 1 / 3) / 3)
    assert s.pass_at_k[2] == pytest.approx((1 + 2 / 3) / 3)
    assert s.pass_at_k[3] == pytest.approx(2 / 3)
    assert s.repeat_accuracy == pytest.approx([1 / 3, 2 / 3, 1 / 3])
    assert s.spread["min"] == pytest.approx(1 / 3) and s.spread["stdev"] > 0


async def test_target_reported_failure_keeps_its_trajectory(store: Store,
                                                            tmp_path: Path) -> None:
    @register_target("test-failing-agent")
    class _Failing(Target[Any]):
        async def __call__(self, sample: Any) -> TargetOutput:
            return TargetOutput(output=None, trajectory=("kernel.ps", "kernel.kill"),
                                error="run r1 failed: kill refused")

    rows = [{"id": "t", "input": "q", "metadata": {"trajectory": ["kernel.ps"]}}]
    path = write_suite(tmp_path, rows, evaluators=[{"name": "trajectory"}],
                       target={"type": "test-failing-agent"})
    (result,) = (await Harness(store).run(load_suite(path))).results
    assert result.status == "error" and result.error == "run r1 failed: kill refused"
    assert result.trajectory == ["kernel.ps", "kernel.kill"]
    assert result.scores["trajectory"].passed is True


async def test_timeout_is_recorded_per_sample(store: Store, tmp_path: Path) -> None:
    @register_target("test-slow")
    class _Slow(Target[Any]):
        async def __call__(self, sample: Any) -> TargetOutput:
            if sample.id == "slow":
                await asyncio.sleep(30)
            return TargetOutput(output=sample.target)

    rows = [{"id": "slow", "input": "q", "target": "x"},
            {"id": "fast", "input": "q", "target": "x"}]
    path = write_suite(tmp_path, rows, evaluators=["exact_match"],
                       target={"type": "test-slow"}, timeout=0.05, concurrency=2)
    report = await Harness(store).run(load_suite(path))
    by_id = {r.sample_id: r for r in report.results}
    assert by_id["slow"].status == "error" and "longer than 0.05s" in str(by_id["slow"].error)
    assert by_id["fast"].status == "passed"


async def test_skipped_evaluator_does_not_decide_the_verdict(store: Store,
                                                             tmp_path: Path) -> None:
    path = write_suite(tmp_path, say_rows(2), evaluators=["exact_match",
                                                          "embedding_similarity"])
    report = await Harness(store).run(load_suite(path))
    assert report.summary.accuracy == 1.0
    stats = report.summary.per_evaluator["embedding_similarity"]
    assert stats.skipped == 2 and "no embedding service" in str(stats.skip_reason)
