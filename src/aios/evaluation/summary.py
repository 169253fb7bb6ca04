"""The summary of a run: success rate, accuracy per evaluator and per tag, latency, cost,
pass@k and run-to-run spread, computed from the stored results (so a resumed run's summary
covers every sample, not only those of the last session)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from math import comb
from typing import Any

import numpy as np

from aios.evaluation.records import ResultRecord

__all__ = ["EvaluatorStats", "Summary", "pass_at_k", "summarize"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator (Chen et al., 2021) for one sample.

    Args:
        n: attempts made; c: attempts that passed; k: the budget of attempts.

    Returns:
        The probability that at least one of k attempts drawn without replacement from the
        n made passes: 1 - C(n-c, k) / C(n, k).
    """
    if not 0 < k <= n:
        raise ValueError(f"k must be in 1..n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


@dataclass(frozen=True)
class EvaluatorStats:
    """How one evaluator scored the run."""

    label: str
    scored: int
    passed: int
    failed: int
    errors: int
    skipped: int
    pass_rate: float | None
    mean_score: float | None
    skip_reason: str | None = None


@dataclass(frozen=True)
class Summary:
    """What a run amounts to.

    Attributes:
        accuracy: passed results / all results (errors count as not passed).
        success_rate: results whose target did not fail / all results.
        per_tag: tag -> {"n", "accuracy"}.
        pass_at_k: k -> mean unbiased pass@k over samples (when repeats > 1).
        repeat_accuracy: the accuracy of each repeat; `spread` its mean, stdev, min, max.
        gate_passed: False when `fail_under` is set and accuracy is below it.
    """

    run_id: str
    suite: str
    target: str
    status: str
    samples: int
    repeats: int
    results: int
    passed: int
    failed: int
    errors: int
    target_errors: int
    accuracy: float
    success_rate: float
    per_evaluator: dict[str, EvaluatorStats]
    per_tag: dict[str, dict[str, float]]
    latency_p50_s: float
    latency_p95_s: float
    latency_mean_s: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    pass_at_k: dict[int, float] = field(default_factory=dict)
    repeat_accuracy: list[float] = field(default_factory=list)
    spread: dict[str, float] = field(default_factory=dict)
    fail_under: float | None = None
    gate_passed: bool = True

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (evaluator stats as objects, pass@k keys as strings)."""
        data = asdict(self)
        data["pass_at_k"] = {str(k): v for k, v in self.pass_at_k.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        """The inverse of `to_json`."""
        values = dict(data)
        values["per_evaluator"] = {k: EvaluatorStats(**v)
                                   for k, v in data["per_evaluator"].items()}
        values["pass_at_k"] = {int(k): v for k, v in data.get("pass_at_k", {}).items()}
        return cls(**values)


def _evaluator_stats(label: str, results: Sequence[ResultRecord]) -> EvaluatorStats:
    scores = [r.scores[label] for r in results if label in r.scores]
    counts = {s: sum(1 for x in scores if x.status == s)
              for s in ("passed", "failed", "error", "skipped")}
    values = [x.value for x in scores if x.value is not None and not x.skipped]
    verdicts = counts["passed"] + counts["failed"] + counts["error"]
    skipped = next((x.error for x in scores if x.skipped), None)
    return EvaluatorStats(
        label=label, scored=len(values), passed=counts["passed"], failed=counts["failed"],
        errors=counts["error"], skipped=counts["skipped"],
        pass_rate=counts["passed"] / verdicts if verdicts else None,
        mean_score=float(np.mean(values)) if values else None, skip_reason=skipped)


def summarize(results: Sequence[ResultRecord], *, run_id: str, suite: str, target: str,
              status: str, samples: int, repeats: int, evaluators: Sequence[str],
              fail_under: float | None = None) -> Summary:
    """The summary of a run's results."""
    n = len(results)
    passed = sum(1 for r in results if r.status == "passed")
    failed = sum(1 for r in results if r.status == "failed")
    errors = n - passed - failed
    target_errors = sum(1 for r in results if r.error is not None)
    latencies = np.array([r.latency_s for r in results], dtype=float)
    by_tag: dict[str, list[bool]] = defaultdict(list)
    by_sample: dict[str, list[bool]] = defaultdict(list)
    by_repeat: dict[int, list[bool]] = defaultdict(list)
    for r in results:
        for tag in r.tags:
            by_tag[tag].append(r.passed)
        by_sample[r.sample_id].append(r.passed)
        by_repeat[r.repeat].append(r.passed)
    accuracy = passed / n if n else 0.0
    k_max = min((len(v) for v in by_sample.values()), default=0)
    at_k = {k: float(np.mean([pass_at_k(len(v), sum(v), k) for v in by_sample.values()]))
            for k in range(1, k_max + 1)} if k_max > 1 else {}
    per_repeat = [float(np.mean(by_repeat[i])) for i in sorted(by_repeat)]
    spread = ({"mean": float(np.mean(per_repeat)),
               "stdev": float(np.std(per_repeat, ddof=1)) if len(per_repeat) > 1 else 0.0,
               "min": min(per_repeat), "max": max(per_repeat)} if per_repeat else {})
    return Summary(
        run_id=run_id, suite=suite, target=target, status=status, samples=samples,
        repeats=repeats, results=n, passed=passed, failed=failed, errors=errors,
        target_errors=target_errors, accuracy=accuracy,
        success_rate=(n - target_errors) / n if n else 0.0,
        per_evaluator={label: _evaluator_stats(label, results) for label in evaluators},
        per_tag={tag: {"n": len(v), "accuracy": sum(v) / len(v)}
                 for tag, v in sorted(by_tag.items())},
        latency_p50_s=float(np.percentile(latencies, 50)) if n else 0.0,
        latency_p95_s=float(np.percentile(latencies, 95)) if n else 0.0,
        latency_mean_s=float(latencies.mean()) if n else 0.0,
        input_tokens=sum(r.input_tokens for r in results),
        output_tokens=sum(r.output_tokens for r in results),
        cost_usd=float(sum(r.cost_usd for r in results)),
        pass_at_k=at_k, repeat_accuracy=per_repeat, spread=spread, fail_under=fail_under,
        gate_passed=fail_under is None or accuracy >= fail_under)
