"""A/B statistics: McNemar exact values, bootstrap intervals, sample size and power, and a
seeded simulation checking the false-positive rate and the power at the computed n."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aios.errors import ConfigError
from aios.evaluation import ResultRecord, Score, compare_outcomes, compare_results
from aios.evaluation.stats import (
    mcnemar_exact,
    mcnemar_power,
    mcnemar_sample_size,
    paired_bootstrap_ci,
)


def test_mcnemar_exact_matches_the_binomial_by_hand() -> None:
    # 6 discordant pairs, all won by B: p = 2 * 0.5**6 = 0.03125
    a = [True] * 4 + [False] * 6 + [False] * 2
    b = [True] * 4 + [True] * 6 + [False] * 2
    result = mcnemar_exact(a, b)
    assert (result.both_pass, result.a_only, result.b_only, result.both_fail) == (4, 0, 6, 2)
    assert result.p_value == pytest.approx(0.03125)
    # 1 vs 5 discordant: p = 2 * (C(6,0) + C(6,1)) / 2**6 = 14/64
    a2 = [True] + [False] * 5
    b2 = [False] + [True] * 5
    assert mcnemar_exact(a2, b2).p_value == pytest.approx(14 / 64)
    assert mcnemar_exact(b2, a2).p_value == pytest.approx(14 / 64)
    assert mcnemar_exact([True, False], [True, False]).p_value == 1.0


def test_paired_bootstrap_interval_covers_the_mean_difference() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0.5, 0.1, 200)
    b = a + 0.05 + rng.normal(0, 0.02, 200)
    ci = paired_bootstrap_ci(a, b, seed=3)
    assert ci.low < 0.05 < ci.high and ci.high - ci.low < 0.02
    assert not ci.contains_zero()
    flat = paired_bootstrap_ci([1, 1, 1], [1, 1, 1])
    assert (flat.estimate, flat.low, flat.high) == (0.0, 0.0, 0.0)


def test_sample_size_follows_connor_and_power_is_80_percent_there() -> None:
    # Connor (1987): p10 = 0.1, p01 = 0.2 (delta 0.1, discordant 0.3)
    n = mcnemar_sample_size(0.1, 0.2)
    z_a, z_b = 1.959963984540054, 0.8416212335729143
    expected = math.ceil((z_a * math.sqrt(0.3) + z_b * math.sqrt(0.3 - 0.01)) ** 2 / 0.01)
    assert n == expected == 234
    assert mcnemar_power(n, 0.1, 0.2) == pytest.approx(0.8, abs=0.01)
    assert mcnemar_sample_size(0.1, 0.1) is None


def _simulate(p10: float, p01: float, n: int, reps: int, seed: int) -> float:
    """How often McNemar's exact test rejects at 0.05 on simulated paired outcomes."""
    rng = np.random.default_rng(seed)
    rejections = 0
    for _ in range(reps):
        kind = rng.choice(4, size=n, p=[p10, p01, 0.5, 0.5 - p10 - p01])
        a = (kind == 0) | (kind == 2)  # A-only or both pass
        b = (kind == 1) | (kind == 2)  # B-only or both pass
        rejections += mcnemar_exact(a, b).p_value < 0.05
    return rejections / reps


def test_simulated_false_positive_rate_stays_at_or_below_alpha() -> None:
    rate = _simulate(0.15, 0.15, n=120, reps=400, seed=7)
    assert 0.01 <= rate <= 0.07  # exact McNemar is conservative: at most ~5%


def test_simulated_power_matches_the_computed_sample_size() -> None:
    n = mcnemar_sample_size(0.05, 0.15)
    assert n is not None
    power = _simulate(0.05, 0.15, n=n, reps=300, seed=11)
    assert 0.68 <= power <= 0.92


def _results(run: str, passes: list[bool], values: list[float] | None = None,
             repeats: int = 1) -> list[ResultRecord]:
    out = []
    for i, passed in enumerate(passes):
        value = values[i] if values else float(passed)
        for r in range(repeats):
            out.append(ResultRecord(run_id=run, sample_id=f"s{i}", repeat=r,
                                    status="passed" if passed else "failed",
                                    scores={"em": Score.verdict(passed, value=value)}))
    return out


def test_significant_difference_gets_a_verdict_with_its_interval() -> None:
    a = _results("a", [False] * 30 + [True] * 30)
    b = _results("b", [True] * 60)
    c = compare_results(a, b, label_a="base", label_b="cand", n_resamples=2000)
    assert c.significant and c.better == "cand" and c.mcnemar.b_only == 30
    assert c.mcnemar.p_value < 1e-6
    assert c.pass_diff.estimate == pytest.approx(0.5)
    assert c.pass_diff.low > 0 and "cand is better" in c.verdict
    assert "McNemar exact p = " in c.verdict and "95% CI" in c.verdict


def test_no_difference_says_so_with_the_interval_and_the_needed_n() -> None:
    a = _results("a", [True, False] * 20)
    b = _results("b", [False, True] * 20 + [])  # 20 discordant each way
    c = compare_outcomes([r.passed for r in a], [r.passed for r in b],
                         [1.0 if r.passed else 0.0 for r in a],
                         [1.0 if r.passed else 0.0 for r in b])
    assert not c.significant and c.better is None and c.mcnemar.p_value == 1.0
    assert c.verdict.startswith("no detectable difference") and "95% CI" in c.verdict
    small = compare_results(_results("a", [True] * 9 + [False]),
                            _results("b", [True] * 10))
    assert not small.significant and small.required_n and small.required_n > 10
    assert f"about {small.required_n} paired samples" in small.verdict


def test_compare_folds_repeats_and_reports_unshared_samples() -> None:
    a = _results("a", [True, False, True], repeats=3)
    b = _results("b", [True, True], repeats=3)
    c = compare_results(a, b)
    assert c.n == 2 and c.only_in_a == 1 and c.only_in_b == 0
    assert c.mcnemar.b_only == 1  # s1: failed under A, passed under B, once per sample
    with pytest.raises(ConfigError, match="no evaluator 'judge'"):
        compare_results(a, b, evaluator="judge")
    with pytest.raises(ConfigError, match="share no samples"):
        compare_results(_results("a", [True]), [ResultRecord("b", "zz", 0, "passed")])
