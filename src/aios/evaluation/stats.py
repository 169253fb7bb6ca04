"""A/B statistics for two runs on the same samples.

- pass/fail: McNemar's exact test (a two-sided binomial test on the discordant pairs);
- scores: a paired bootstrap confidence interval of the mean difference (scipy);
- effect sizes: the pass-rate difference, the discordant odds ratio, Cohen's d_z on scores;
- power: the number of pairs needed to detect the observed difference (Connor, 1987).

A verdict is given only when the test is significant; otherwise the result says "no
detectable difference" with the interval, and how many samples would be needed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from aios.errors import ConfigError
from aios.evaluation.records import ResultRecord
from aios.extras import import_extra

__all__ = ["BootstrapInterval", "Comparison", "McNemarResult", "compare_outcomes",
           "compare_results", "mcnemar_exact", "mcnemar_power", "mcnemar_sample_size",
           "paired_bootstrap_ci", "per_sample_outcomes"]


def _scipy_stats() -> Any:
    return import_extra("scipy.stats", "A/B statistics need scipy: pip install 'aios[eval]'")


@dataclass(frozen=True)
class McNemarResult:
    """Paired pass/fail counts and McNemar's exact p-value.

    Attributes:
        a_only: pairs A passed and B failed; b_only: the reverse (the discordant pairs).
    """

    n: int
    both_pass: int
    a_only: int
    b_only: int
    both_fail: int
    p_value: float


def mcnemar_exact(a_pass: Sequence[bool], b_pass: Sequence[bool]) -> McNemarResult:
    """McNemar's exact test: under no difference, each discordant pair is a fair coin."""
    if len(a_pass) != len(b_pass):
        raise ValueError("paired outcomes must have the same length")
    a, b = np.asarray(a_pass, dtype=bool), np.asarray(b_pass, dtype=bool)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = a_only + b_only
    p = (1.0 if discordant == 0 else
         float(_scipy_stats().binomtest(b_only, discordant, 0.5).pvalue))
    return McNemarResult(n=len(a), both_pass=int(np.sum(a & b)), a_only=a_only,
                         b_only=b_only, both_fail=int(np.sum(~a & ~b)), p_value=min(p, 1.0))


@dataclass(frozen=True)
class BootstrapInterval:
    """A paired bootstrap interval of mean(B - A)."""

    estimate: float
    low: float
    high: float
    confidence: float

    def contains_zero(self) -> bool:
        """True when the interval does not exclude no difference."""
        return self.low <= 0.0 <= self.high


def paired_bootstrap_ci(a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95,
                        n_resamples: int = 5000, seed: int | None = 0) -> BootstrapInterval:
    """The bootstrap confidence interval of the mean paired difference B - A.

    Pairs are resampled together (a resample of the differences), so the correlation between
    the two runs on the same sample is kept. Uses `scipy.stats.bootstrap` (BCa).
    """
    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    if diff.size == 0:
        raise ValueError("no paired samples to compare")
    estimate = float(diff.mean())
    if diff.size < 2 or np.all(diff == diff[0]):  # no spread: every resample is the same
        return BootstrapInterval(estimate, estimate, estimate, confidence)
    result = _scipy_stats().bootstrap(
        (diff,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
        method="BCa", rng=np.random.default_rng(seed))
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):  # BCa degenerates on tiny samples
        low, high = (float(x) for x in np.quantile(
            np.random.default_rng(seed).choice(diff, (n_resamples, diff.size)).mean(axis=1),
            [(1 - confidence) / 2, (1 + confidence) / 2]))
    return BootstrapInterval(estimate, low, high, confidence)


def mcnemar_sample_size(p_a_only: float, p_b_only: float, *, alpha: float = 0.05,
                        power: float = 0.8) -> int | None:
    """Pairs needed for McNemar's test to detect a difference (Connor, 1987).

    Args:
        p_a_only, p_b_only: the probabilities of the two kinds of discordant pair.
        alpha: two-sided significance level; power: the chance to detect the difference.

    Returns:
        The number of pairs, or None when the two probabilities are equal (no difference).
    """
    delta = abs(p_b_only - p_a_only)
    p_disc = p_a_only + p_b_only
    if delta == 0 or p_disc <= 0:
        return None
    norm = _scipy_stats().norm
    z_a, z_b = float(norm.ppf(1 - alpha / 2)), float(norm.ppf(power))
    n = (z_a * math.sqrt(p_disc) + z_b * math.sqrt(p_disc - delta ** 2)) ** 2 / delta ** 2
    return math.ceil(n)


def mcnemar_power(n: int, p_a_only: float, p_b_only: float, *, alpha: float = 0.05) -> float:
    """The approximate power of McNemar's test with `n` pairs (Connor's normal approximation)."""
    delta = abs(p_b_only - p_a_only)
    p_disc = p_a_only + p_b_only
    if delta == 0 or n <= 0:
        return alpha
    norm = _scipy_stats().norm
    z_a = norm.ppf(1 - alpha / 2)
    spread = math.sqrt(max(p_disc - delta ** 2, 1e-12))
    return float(norm.cdf((delta * math.sqrt(n) - z_a * math.sqrt(p_disc)) / spread))


@dataclass(frozen=True)
class Comparison:
    """Two runs compared on the samples they share.

    Attributes:
        significant: McNemar's p-value is below `alpha`.
        better: `A`, `B`, or None when no difference was detected.
        pass_diff: bootstrap interval of the pass-rate difference (B - A).
        score_diff: bootstrap interval of the mean score difference (B - A).
        odds_ratio: b_only / a_only (inf when A never wins a discordant pair).
        cohen_dz: mean score difference / its standard deviation.
        required_n: pairs needed to detect the observed pass-rate difference at 80% power.
        power: the approximate power this comparison had for that difference.
        verdict: one sentence for humans.
    """

    label_a: str
    label_b: str
    n: int
    pass_rate_a: float
    pass_rate_b: float
    mcnemar: McNemarResult
    pass_diff: BootstrapInterval
    score_diff: BootstrapInterval
    odds_ratio: float | None
    cohen_dz: float | None
    required_n: int | None
    power: float | None
    alpha: float
    significant: bool
    better: str | None
    verdict: str
    only_in_a: int = 0
    only_in_b: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (infinite odds ratios as the string `inf`)."""
        data = asdict(self)
        if self.odds_ratio is not None and math.isinf(self.odds_ratio):
            data["odds_ratio"] = "inf"
        return data


def compare_outcomes(a_pass: Sequence[bool], b_pass: Sequence[bool],
                     a_score: Sequence[float], b_score: Sequence[float], *,
                     label_a: str = "A", label_b: str = "B", alpha: float = 0.05,
                     confidence: float = 0.95, n_resamples: int = 5000,
                     seed: int | None = 0) -> Comparison:
    """Compare paired outcomes (the same samples, in the same order, under A and B)."""
    n = len(a_pass)
    if n == 0:
        raise ConfigError(f"runs {label_a} and {label_b} share no samples; compare two runs "
                          "of the same dataset")
    test = mcnemar_exact(a_pass, b_pass)
    pass_ci = paired_bootstrap_ci([float(x) for x in a_pass], [float(x) for x in b_pass],
                                  confidence=confidence, n_resamples=n_resamples, seed=seed)
    score_ci = paired_bootstrap_ci(a_score, b_score, confidence=confidence,
                                   n_resamples=n_resamples, seed=seed)
    diff = np.asarray(b_score, dtype=float) - np.asarray(a_score, dtype=float)
    sd = float(diff.std(ddof=1)) if n > 1 else 0.0
    p10, p01 = test.a_only / n, test.b_only / n
    required = mcnemar_sample_size(p10, p01, alpha=alpha)
    power = mcnemar_power(n, p10, p01, alpha=alpha) if required is not None else None
    odds = (test.b_only / test.a_only if test.a_only else
            (math.inf if test.b_only else None))
    significant = test.p_value < alpha
    rate_a, rate_b = float(np.mean(a_pass)), float(np.mean(b_pass))
    level = f"{confidence:.0%} CI"
    if significant:
        better = label_b if test.b_only > test.a_only else label_a
        verdict = (f"{better} is better: pass rate {rate_a:.1%} ({label_a}) vs {rate_b:.1%} "
                   f"({label_b}), difference {pass_ci.estimate:+.1%} ({level} "
                   f"{pass_ci.low:+.1%} to {pass_ci.high:+.1%}); McNemar exact "
                   f"p = {test.p_value:.3g}")
    else:
        better = None
        need = (f"; detecting a difference of {abs(p01 - p10):.1%} would need about "
                f"{required} paired samples" if required else "")
        verdict = (f"no detectable difference (McNemar exact p = {test.p_value:.3g}, n = {n}); "
                   f"score difference {score_ci.estimate:+.3f} ({level} {score_ci.low:+.3f} "
                   f"to {score_ci.high:+.3f}){need}")
    return Comparison(
        label_a=label_a, label_b=label_b, n=n, pass_rate_a=rate_a, pass_rate_b=rate_b,
        mcnemar=test, pass_diff=pass_ci, score_diff=score_ci, odds_ratio=odds,
        cohen_dz=float(diff.mean() / sd) if sd > 0 else None, required_n=required,
        power=power, alpha=alpha, significant=significant, better=better, verdict=verdict)


def _result_score(result: ResultRecord, evaluator: str | None) -> float:
    if evaluator is not None:
        score = result.scores.get(evaluator)
        return float(score.value) if score is not None and score.value is not None else 0.0
    values = [s.value if s.value is not None else 0.0
              for s in result.scores.values() if not s.skipped]
    return float(np.mean(values)) if values else 0.0


def per_sample_outcomes(results: Sequence[ResultRecord], evaluator: str | None = None
                        ) -> dict[str, tuple[bool, float]]:
    """sample id -> (passed, score), repeats folded: passed by majority, score averaged.

    Repeats of one sample are not independent pairs, so they are folded into one.
    `evaluator` picks one evaluator's pass/score; by default the sample's overall status and
    the mean of its evaluators' scores (an error counts as 0).
    """
    by_sample: dict[str, list[tuple[bool, float]]] = defaultdict(list)
    for r in results:
        if evaluator is not None and evaluator in r.scores:
            passed = r.scores[evaluator].status == "passed" and r.error is None
        else:
            passed = r.passed
        by_sample[r.sample_id].append((passed, _result_score(r, evaluator)))
    return {sid: (sum(p for p, _ in v) > len(v) / 2, float(np.mean([s for _, s in v])))
            for sid, v in by_sample.items()}


def compare_results(a: Sequence[ResultRecord], b: Sequence[ResultRecord], *,
                    label_a: str = "A", label_b: str = "B", evaluator: str | None = None,
                    alpha: float = 0.05, confidence: float = 0.95, n_resamples: int = 5000,
                    seed: int | None = 0) -> Comparison:
    """Compare two runs' stored results on the samples both have.

    Raises:
        ConfigError: the runs share no sample, or `evaluator` is in neither run.
    """
    if evaluator is not None and not any(evaluator in r.scores for r in (*a, *b)):
        known = sorted({k for r in (*a, *b) for k in r.scores})
        raise ConfigError(f"no evaluator {evaluator!r} in these runs; known: "
                          f"{', '.join(known) or '(none)'}")
    out_a: Mapping[str, tuple[bool, float]] = per_sample_outcomes(a, evaluator)
    out_b: Mapping[str, tuple[bool, float]] = per_sample_outcomes(b, evaluator)
    shared = [sid for sid in out_a if sid in out_b]
    comparison = compare_outcomes(
        [out_a[s][0] for s in shared], [out_b[s][0] for s in shared],
        [out_a[s][1] for s in shared], [out_b[s][1] for s in shared], label_a=label_a,
        label_b=label_b, alpha=alpha, confidence=confidence, n_resamples=n_resamples,
        seed=seed)
    return Comparison(**{**comparison.__dict__, "only_in_a": len(out_a) - len(shared),
                         "only_in_b": len(out_b) - len(shared)})
