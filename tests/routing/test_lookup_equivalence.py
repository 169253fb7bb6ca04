"""The cache's lookup decides as it did before it was made faster (issue 20).

The lookup's per-candidate scoring (`sameness._features`) was rewritten for speed: maxima and
the replaced words' block taken in numpy, the shared-stem alignment counted directly, the
word-vector matrices built with `np.array`, `min_cosine` memoised, and `facts` tests the
opposite prefixes once per word. The previous implementation is kept here, verbatim, as the
oracle: on the minimal agent pairs and a sample of the development paraphrase pairs, every
candidate's verdict (refusal reason, score to the last bit, unmatched words) and every
lookup's served entry must be the same.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from tests.routing.conftest import DATASETS
from tests.routing.test_cache_minimal_pairs import DIFFERENT, SAME

from aios.embeddings import EmbeddingService
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo
from aios.routing import DEFAULT_THRESHOLD, CacheConfig, ResponseCache, sameness
from aios.routing.guard import TextFacts, WordVectors, conflict_facts, facts, missing_names
from aios.routing.sameness import (
    _ALIGNMENT,
    _LONE,
    _SWAP,
    _UNMATCHED,
    SYNONYM_SIMILARITY,
    _best,
    _pairs,
    _side,
    _synonyms,
)
from aios.routing.text_facts import _OPPOSITE_PREFIXES

MODEL = ModelInfo("m", "openai", "m")
SAMPLE = 250  # pairs of each development set


def _old_features(fa: TextFacts, fb: TextFacts, cosine: float, vectors: WordVectors | None,
              bound: tuple[float, tuple[float, ...]] | None
              ) -> tuple[np.ndarray, tuple[str, ...], float | None]:
    """`sameness._features` as of e9afb76, verbatim (its `_products` inlined)."""
    in_a, in_b = set(fa.content), set(fb.content)
    shared_a = [stem in in_b for stem in fa.content]
    shared_b = [stem in in_a for stem in fb.content]
    rows = [i for i, same in enumerate(shared_a) if not same]
    cols = [j for j, same in enumerate(shared_b) if not same]
    only_a, only_b = [fa.forms[i] for i in rows], [fb.forms[j] for j in cols]
    per_word = 1.0 / max((fa.length + fb.length) / 2, 1.0)
    union = len(in_a | in_b)
    names_a, names_b = missing_names(fa, fb)
    lone = len(only_a) == len(only_b) == 1
    if not fa.content or not fb.content:
        ra = rb = float(not fa.content and not fb.content)
    else:  # without word vectors: shared stems only
        ra, rb = _side([0.0] * len(shared_a), shared_a), _side([0.0] * len(shared_b), shared_b)
    values = [cosine, 0.0, min(max(len(only_a), len(only_b)) * per_word, 2.0),
              min(abs(len(only_a) - len(only_b)) * per_word, 2.0),
              len(in_a & in_b) / union if union else 1.0,
              float(bool(names_a) != bool(names_b)), float(bool(names_a) and bool(names_b)),
              float(set(fa.numbers) != set(fb.numbers)),
              min(fa.length, fb.length) / max(fa.length, fb.length, 1), float(lone),
              2 * ra * rb / (ra + rb) if ra + rb > 0 else 0.0]
    unmatched = (*only_a, *only_b)
    if vectors is None or not fa.content or not fb.content:
        return np.array(values), unmatched, None
    if bound is not None:
        best = _best(values, bool(rows and cols), bound[1])
        if best < bound[0]:
            return np.array(values), unmatched, best
    all_a, all_b = vectors(fa.forms), vectors(fb.forms)
    across = np.einsum("ik,jk->ij", all_a, all_b).tolist()
    ra = _side([max(line) for line in across], shared_a)
    rb = _side([max(column) for column in zip(*across, strict=True)], shared_b)
    values[_ALIGNMENT] = 2 * ra * rb / (ra + rb) if ra + rb > 0 else 0.0
    if rows and cols:
        sims = [[across[i][j] for j in cols] for i in rows]
        pairs = _pairs(sims)
        if lone:
            replaced = sims[0][0] < SYNONYM_SIMILARITY and not _synonyms(only_a[0], only_b[0])
            values[_LONE] = float(replaced)
            pairs = [] if replaced else [(0, 0)]  # a synonym pairs, whatever its cosine
        # Cosine of the summed vectors of the replaced words of each side.
        sum_a, sum_b = all_a[rows].sum(axis=0), all_b[cols].sum(axis=0)
        norms = float(sum_a @ sum_a) * float(sum_b @ sum_b)
        values[_SWAP] = sum(map(sum, sims)) / math.sqrt(norms) if norms > 0 else 0.0
        values[_UNMATCHED] = min((max(len(rows), len(cols)) - len(pairs)) * per_word, 2.0)
        paired_a, paired_b = {i for i, _ in pairs}, {j for _, j in pairs}
        unmatched = tuple([w for i, w in enumerate(only_a) if i not in paired_a] +
                          [w for j, w in enumerate(only_b) if j not in paired_b])
    return np.array(values), unmatched, None


def _old_match(fa: TextFacts, fb: TextFacts, cosine: float, vectors: WordVectors,
               threshold: float | None) -> sameness.Match:
    """`sameness.match_facts` as of e9afb76, on the old `_features`."""
    reason = conflict_facts(fa, fb)
    if reason is not None:
        return sameness.Match(-1.0, reason)
    if cosine < sameness.MIN_COSINE:
        return sameness.Match(0.0)
    values, unmatched, best = _old_features(
        fa, fb, cosine, vectors, None if threshold is None else (threshold, sameness.WEIGHTS))
    if best is not None:
        return sameness.Match(best, None, unmatched)
    if sameness.replaced_word(values, fa, fb):
        return sameness.Match(-1.0, f"replaced word differs ({'/'.join(unmatched)})",
                              unmatched)
    return sameness.Match(sameness.score(values), None, unmatched)


def _old_min_cosine(threshold: float) -> float:
    logit = math.log(threshold / (1.0 - threshold))
    weights = sameness.WEIGHTS
    best_rest = sum(max(w * lo, w * hi) for w, (lo, hi) in
                    zip(weights[1:-1], sameness._BOUNDS[1:], strict=True))
    return max(sameness.MIN_COSINE, (logit - weights[-1] - best_rest) / weights[0])


def _old_stacked(embedder: EmbeddingService) -> WordVectors:
    """Word vectors assembled as before (`np.stack` of the remembered rows)."""
    return lambda words: np.stack(list(embedder.embed(words)))


def _sample() -> list[tuple[str, str]]:
    pairs = [*DIFFERENT, *SAME]
    mrpc_path = DATASETS / "paraphrase" / "mrpc_train.tsv"
    gpt_path = DATASETS / "paraphrase" / "gptcache_mock_pairs.json"
    if mrpc_path.exists() and gpt_path.exists():
        with mrpc_path.open(encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        pairs += [(r[3], r[4]) for r in rows if len(r) == 5][:SAMPLE]
        pairs += [(p["origin"], p["similar"]) for p in json.loads(gpt_path.read_text())][:SAMPLE]
    return pairs


def test_the_development_sample_is_there() -> None:
    if not (DATASETS / "paraphrase").is_dir():
        pytest.skip(f"shared datasets not found at {DATASETS}")
    assert len(_sample()) == len(DIFFERENT) + len(SAME) + 2 * SAMPLE


def test_facts_find_the_same_prefixed_words() -> None:
    for a, b in _sample():
        for text in (a, b):
            words = facts(text).words.strip("\0").split("\0")
            old = tuple(sorted(f"{w}\0{w[len(p):]}" for w in words for p in _OPPOSITE_PREFIXES
                               if w.startswith(p) and len(w) - len(p) >= 3))
            assert facts(text).prefixed == old


def test_min_cosine_is_the_same() -> None:
    for threshold in (0.5, 0.7, DEFAULT_THRESHOLD, 0.95):
        assert sameness.min_cosine(threshold) == _old_min_cosine(threshold)


def test_every_verdict_is_the_same_to_the_last_bit(embedder: EmbeddingService) -> None:
    pairs = _sample()
    left = embedder.embed([a for a, _ in pairs])
    right = embedder.embed([b for _, b in pairs])
    old_vectors = _old_stacked(embedder)
    checked = 0
    for (a, b), va, vb in zip(pairs, left, right, strict=True):
        cosine = float(va @ vb)
        for fa, fb in ((facts(a), facts(b)), (facts(b), facts(a))):
            for threshold in (None, DEFAULT_THRESHOLD):
                new = sameness.match_facts(fa, fb, cosine, embedder.embed, threshold=threshold)
                old = _old_match(fa, fb, cosine, old_vectors, threshold)
                assert new == old, (a, b, threshold)
                checked += 1
    assert checked == 4 * len(pairs)


async def test_every_lookup_serves_the_same_entry(embedder: EmbeddingService) -> None:
    """All cached sides in one bucket, so candidates compete; each other side is looked up
    and the served answer is the one the old scoring picks among the same candidates."""
    pairs = _sample()
    cache = ResponseCache(None, embedder, CacheConfig())
    answers: dict[str, str] = {}
    for i, (a, _) in enumerate(pairs):
        if a not in answers:
            answers[a] = f"answer {i}"
            await cache.put(LLMRequest.of(a), MODEL, LLMResponse(answers[a], "m", "openai"))
    old_vectors = _old_stacked(embedder)
    floor = _old_min_cosine(DEFAULT_THRESHOLD)
    served = 0
    for _, b in pairs:
        request = LLMRequest.of(b)
        expected = None
        for candidate in cache.candidates(request, MODEL)[:CacheConfig().top_k]:
            if candidate.cosine < floor:
                break
            verdict = sameness.Match(candidate.cosine) if candidate.prompt == b else \
                _old_match(facts(candidate.prompt), facts(b), candidate.cosine, old_vectors,
                           DEFAULT_THRESHOLD)
            if verdict.reason is None and verdict.score >= DEFAULT_THRESHOLD:
                expected = candidate.answer.text
                break
        hit = cache.lookup_semantic(request, MODEL)
        assert (hit.text if hit else None) == expected, b
        served += hit is not None
    assert served > 0  # the sample has paraphrases the cache serves
