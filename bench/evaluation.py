"""Evaluation harness: overhead per sample, and a check of the A/B statistics by simulation.

Run: .venv/bin/python bench/evaluation.py [--samples 2000] [--reps 2000]

1. Harness overhead: a suite of N samples whose target is a Python function taking well under
   a millisecond, scored by three code evaluators (exact_match, contains, regex), run by the
   harness on a SQLite store (every result stored, concurrency 8) next to calling the same
   target and the same evaluators directly in a loop. Prints per-sample times and the
   overhead (difference / N), for a sync target run inline, a sync target run in a worker
   thread (the default), and an async target.
2. Statistics: paired pass/fail outcomes of two simulated targets with a known difference
   (pass rates 0.60 vs 0.70: A-only pairs 5%, B-only pairs 15%) and with none (both 0.60,
   10% discordant each way). Prints McNemar's exact false-positive rate at alpha = 0.05
   (exact McNemar is conservative: expect at or below 5%), the sample size Connor's formula
   gives for 80% power and the power measured at that n (and at n/2, 2n), and the coverage
   of the paired bootstrap 95% interval of the pass-rate difference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from aios.evaluation import (
    EvaluatorContext,
    Harness,
    Sample,
    TargetOutput,
    build_evaluator,
    compare_outcomes,
    load_dataset,
    suite_from_mapping,
)
from aios.evaluation.stats import mcnemar_exact, mcnemar_power, mcnemar_sample_size
from aios.store import Store

TARGET_CODE = '''
def answer(text):
    return text.split("say ", 1)[-1].upper()


async def answer_async(text):
    return text.split("say ", 1)[-1].upper()
'''
EVALUATORS = [{"name": "exact_match", "params": {"normalize": ["case"]}},
              {"name": "contains", "params": {"normalize": ["case"]}},
              {"name": "regex", "params": {"pattern": r"^W\d+$"}}]


def _write(directory: Path, n: int) -> Path:
    (directory / "target.py").write_text(TARGET_CODE)
    with (directory / "data.jsonl").open("w") as out:
        for i in range(n):
            out.write(json.dumps({"id": f"s{i}", "input": f"say w{i}", "target": f"w{i}",
                                  "tags": [f"t{i % 5}"]}) + "\n")
    return directory / "data.jsonl"


async def _direct(dataset: Path, directory: Path) -> float:
    """Seconds to call the target and score with the evaluators, sample by sample."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_target", directory / "target.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    evaluators = [build_evaluator(e["name"], e["params"], EvaluatorContext())
                  for e in EVALUATORS]
    samples: tuple[Sample, ...] = load_dataset(dataset).samples
    started = time.perf_counter()
    for sample in samples:
        out = TargetOutput(output=module.answer(sample.input))
        for evaluator in evaluators:
            await evaluator.score(sample, out)
    return time.perf_counter() - started


async def _harness(directory: Path, target: dict[str, Any], n: int) -> float:
    suite = suite_from_mapping({"name": "bench", "dataset": "data.jsonl", "target": target,
                                "evaluators": EVALUATORS, "concurrency": 8},
                               file=str(directory / "suite.yaml"))
    store = await Store.open(f"sqlite+aiosqlite:///{directory / f'{time.time_ns()}.db'}")
    try:
        started = time.perf_counter()
        report = await Harness(store).run(suite)
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    assert report.summary.results == n and report.summary.accuracy == 1.0, report.summary
    return elapsed


def bench_overhead(n: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        dataset = _write(directory, n)
        direct = statistics.median(asyncio.run(_direct(dataset, directory))
                                   for _ in range(repeats))
        print(f"harness overhead ({n} samples, 3 code evaluators, SQLite store, "
              f"concurrency 8, median of {repeats}):")
        print(f"  direct loop (target + evaluators):   {direct / n * 1e6:8.1f} µs/sample")
        for label, target in (
                ("sync target, inline", {"type": "callable", "ref": "target.py:answer",
                                         "thread": False}),
                ("sync target, worker thread", {"type": "callable",
                                                "ref": "target.py:answer"}),
                ("async target", {"type": "callable", "ref": "target.py:answer_async"})):
            wall = statistics.median(asyncio.run(_harness(directory, target, n))
                                     for _ in range(repeats))
            print(f"  harness, {label:<27} {wall / n * 1e6:8.1f} µs/sample   overhead "
                  f"{(wall - direct) / n * 1e6:7.1f} µs/sample   ({wall:.2f} s total)")


def _draw(rng: np.random.Generator, n: int, p_a_only: float, p_b_only: float,
          p_both: float) -> tuple[np.ndarray, np.ndarray]:
    kind = rng.choice(4, size=n, p=[p_a_only, p_b_only, p_both,
                                    1 - p_a_only - p_b_only - p_both])
    return (kind == 0) | (kind == 2), (kind == 1) | (kind == 2)


def _rejections(rng: np.random.Generator, n: int, reps: int, p_a_only: float,
                p_b_only: float, p_both: float) -> float:
    hits = 0
    for _ in range(reps):
        a, b = _draw(rng, n, p_a_only, p_b_only, p_both)
        hits += mcnemar_exact(a, b).p_value < 0.05
    return hits / reps


def bench_statistics(reps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    print(f"\nA/B statistics ({reps} simulated comparisons each, alpha = 0.05, seed {seed}):")
    for n in (50, 200, 800):
        fpr = _rejections(rng, n, reps, 0.10, 0.10, 0.50)
        print(f"  no difference (0.60 vs 0.60), n = {n:4d}: false-positive rate "
              f"{fpr:6.2%}   (nominal 5%)")
    need = mcnemar_sample_size(0.05, 0.15, power=0.8)
    assert need is not None
    print(f"  difference 0.60 vs 0.70 (A-only 5%, B-only 15%): Connor's n for 80% power "
          f"= {need}")
    for n in (need // 2, need, need * 2):
        power = _rejections(rng, n, reps, 0.05, 0.15, 0.55)
        print(f"    n = {n:4d}: measured power {power:6.2%}   (normal approximation "
              f"{mcnemar_power(n, 0.05, 0.15):6.2%})")
    coverage_reps = max(reps // 10, 50)
    covered = 0
    for _ in range(coverage_reps):
        a, b = _draw(rng, need, 0.05, 0.15, 0.55)
        c = compare_outcomes(a.tolist(), b.tolist(), a.astype(float).tolist(),
                             b.astype(float).tolist(), n_resamples=1000,
                             seed=int(rng.integers(1 << 31)))
        covered += c.pass_diff.low <= 0.10 <= c.pass_diff.high
    print(f"  paired bootstrap 95% CI of the pass-rate difference (true +10%), n = {need}: "
          f"coverage {covered / coverage_reps:6.2%} over {coverage_reps} comparisons")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20250101)
    args = parser.parse_args()
    bench_overhead(args.samples, args.repeats)
    bench_statistics(args.reps, args.seed)


if __name__ == "__main__":
    main()
