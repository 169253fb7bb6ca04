"""Whether a cached prompt asks the same thing as a new one: a calibrated probability.

Pairs that pass the guard's hard rules (`aios.routing.guard`) are scored by a logistic model
of a few features of the pair, fitted on the calibration half of the development paraphrase
pairs (bench/gateway.py section 3 fits it with `--calibrate` and reports it on the other
half, next to plain cosine on the same embeddings):

| feature | what |
|---|---|
| `cosine` | embedding cosine of the two prompts |
| `swap` | cosine of the mean vectors of the content words only one side has (0: none) |
| `unmatched` | those words without a related partner, per word of the prompts |
| `extra` | words one side has beyond the other's count, per word |
| `overlap` | shared content stems / all content stems |
| `added_name` | one side only names a name or id the other does not |
| `swapped_name` | each side names a name the other does not (``Alice`` / ``Bob``) |
| `added_number` | one side states a number the other does not |
| `length_ratio` | shorter / longer prompt, in words |
| `lone_replacement` | all else equal, one word replaced by a non-synonym (start/restart) |
| `alignment` | BERTScore-like: each content word's best word cosine on the other side, F1 |

The score is P(same request) (0 below `MIN_COSINE`); the cache serves the most similar
candidate whose score reaches the namespace threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from aios.routing.guard import (
    TextFacts,
    WordVectors,
    conflict_facts,
    facts,
    missing_names,
)

__all__ = ["FEATURES", "MIN_COSINE", "PAIR_SIMILARITY", "WEIGHTS", "Match", "match", "match_facts",
           "min_cosine", "pair_features", "score"]

#: Word cosine from which a lone replaced word counts as a synonym: above related
#: non-synonyms (today/tomorrow 0.36, start/restart 0.40, Monday/Tuesday 0.38); delete/remove
#: 0.68, big/large 0.74, create/make 0.58.
SYNONYM_SIMILARITY = 0.5

#: Words that mean the same in a request although their vectors are far apart (WordLlama:
#: complete/entire 0.33, show/display 0.30, fetch/get 0.29, while start/restart is 0.40):
#: a lone replaced word of one group for another of the same group is a rewording.
SYNONYM_GROUPS = (
    "complete entire whole full", "show display print list", "delete remove erase",
    "get fetch retrieve obtain", "make create generate build", "find search locate look",
    "big large huge", "small little tiny", "fast quick rapid", "error failure fault",
    "check verify inspect examine see", "change modify alter edit update", "use utilize employ",
    "help assist", "begin commence start", "stop halt", "end finish", "buy purchase",
    "picture image photo", "car automobile vehicle", "movie film",
    "answer reply response", "correct right", "wrong incorrect", "maybe perhaps",
    "every each all", "folder directory", "app application", "config configuration",
    "repo repository", "info information", "docs documentation", "admin administrator",
    "db database", "vm machine", "pic picture", "doc document", "kill terminate",
)
_SYNONYMS = {word: index for index, group in enumerate(SYNONYM_GROUPS)
             for word in group.split()}


def _synonyms(a: str, b: str) -> bool:
    first, second = _SYNONYMS.get(a.lower()), _SYNONYMS.get(b.lower())
    return first is not None and first == second


#: Prompts of at most this many words (mean of the two) are "short" for `replaced_word`.
SHORT_PROMPT_WORDS = 12

#: Two words are related when their cosine is above what 95% of random pairs of vocabulary
#: words reach (WordLlama: median 0.00, 90th percentile 0.10, 95th 0.13).
PAIR_SIMILARITY = 0.13

FEATURES = ("cosine", "swap", "unmatched", "extra", "overlap", "added_name", "swapped_name",
            "added_number", "length_ratio", "lone_replacement", "alignment")
#: (lowest, highest) value of each feature, for the cosine a threshold needs (`min_cosine`).
_BOUNDS = ((-1.0, 1.0), (-1.0, 1.0), (0.0, 2.0), (0.0, 2.0), (0.0, 1.0), (0.0, 1.0),
           (0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0))

#: Below this cosine a pair is never served (score 0, no features computed: most lookups
#: that miss stop here). On the calibration half no pair scoring 0.5 or more had a cosine
#: below 0.398 (none scoring the default threshold below 0.63), so it changes no decision
#: at any threshold from 0.5 up.
MIN_COSINE = 0.4

#: Logistic weights per feature, then the bias: `python bench/gateway.py --calibrate` fits
#: them on the calibration half of the paraphrase pairs (WordLlama embeddings) and prints
#: this line.
WEIGHTS = (1.394, 2.378, -2.765, -0.133, 1.454, -0.202, -0.163, -0.792, 2.262, 0.651, 0.986, -2.714)


@dataclass(frozen=True)
class Match:
    """How well a cached prompt answers a new one.

    Attributes:
        score: P(same request), or -1 when a hard rule refused.
        reason: why they must not share an answer (a hard rule), or None.
        unmatched: content words without a related counterpart.
    """

    score: float
    reason: str | None = None
    unmatched: tuple[str, ...] = ()


def _pairs(sims: list[list[float]]) -> list[tuple[int, int]]:
    """Rows and columns paired best first, each used once, at PAIR_SIMILARITY or above."""
    most = min(len(sims), len(sims[0]))
    ranked = sorted(((value, row, col) for row, line in enumerate(sims)
                     for col, value in enumerate(line) if value >= PAIR_SIMILARITY),
                    reverse=True)
    used_rows: set[int] = set()
    used_cols: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, row, col in ranked:
        if len(pairs) == most:
            break
        if row not in used_rows and col not in used_cols:
            used_rows.add(row)
            used_cols.add(col)
            pairs.append((row, col))
    return pairs


def _side(best: list[float], shared: list[bool]) -> float:
    """How well one side's content words are covered: each word's best cosine with the
    other side's words (a shared stem counts 1), averaged."""
    return max(sum(1.0 if same else value for same, value in zip(shared, best, strict=True))
               / len(shared), 0.0)


def _products(va: np.ndarray, vb: np.ndarray) -> np.ndarray:
    """`va @ vb.T` by `einsum`'s own loop rather than BLAS: a BLAS product wakes its thread
    pool, whose threads then spin beside the caller; on a 2-core host that doubled the CPU
    time of the HNSW search timed after it (`bench/gateway.py --only lookups`: 133 vs 63
    us, and 63 with OPENBLAS_NUM_THREADS=1)."""
    return np.einsum("ik,jk->ij", va, vb)  # type: ignore[no-any-return]


def pair_features(fa: TextFacts, fb: TextFacts, cosine: float,
                  vectors: WordVectors | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """The `FEATURES` of a pair, and its content words without a related counterpart.

    `vectors` is called once per side, with that side's `TextFacts.forms` (a tuple: the
    cache memoises the query's across its candidates)."""
    values, unmatched, _ = _features(fa, fb, cosine, vectors, None)
    return values, unmatched


def _features(fa: TextFacts, fb: TextFacts, cosine: float, vectors: WordVectors | None,
              bound: tuple[float, tuple[float, ...]] | None
              ) -> tuple[np.ndarray, tuple[str, ...], float | None]:
    """`pair_features`, and None, or the highest score the pair could reach when its
    word-vector features were skipped: with `bound` (a threshold and the weights), they are
    when even their best values would leave the score below the threshold (the features
    without them are returned)."""
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
    else:  # without word vectors: shared stems only (`_side` with every cosine 0)
        ra, rb = sum(shared_a) / len(shared_a), sum(shared_b) / len(shared_b)
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
    across = _products(all_a, all_b)
    # Maxima and the replaced words' block in numpy, then as Python floats: the sums below
    # stay Python's, in the same order, so every score is the same to the last bit.
    ra = _side(across.max(axis=1).tolist(), shared_a)
    rb = _side(across.max(axis=0).tolist(), shared_b)
    values[_ALIGNMENT] = 2 * ra * rb / (ra + rb) if ra + rb > 0 else 0.0
    if rows and cols:
        sims: list[list[float]] = across[rows][:, cols].tolist()
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


_SWAP, _UNMATCHED, _EXTRA, _LONE, _ALIGNMENT = (FEATURES.index(name) for name in (
    "swap", "unmatched", "extra", "lone_replacement", "alignment"))


def _best(values: list[float], replaced: bool, weights: tuple[float, ...]) -> float:
    """The highest score the pair can reach whatever its word vectors say: swap anywhere in
    [-1, 1] (when words were replaced), every replaced word paired (down to the `extra`
    words), the lone replacement a synonym or not, alignment up to 1."""
    best = list(values)
    if replaced:
        best[_SWAP] = 1.0 if weights[_SWAP] > 0 else -1.0
        if weights[_UNMATCHED] < 0:
            best[_UNMATCHED] = values[_EXTRA]
    if weights[_LONE] < 0:
        best[_LONE] = 0.0
    if weights[_ALIGNMENT] > 0:
        best[_ALIGNMENT] = 1.0
    z = sum(v * w for v, w in zip(best, weights, strict=False)) + weights[-1]
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def score(values: np.ndarray, weights: tuple[float, ...] = WEIGHTS) -> float:
    """P(same request) from `pair_features` values."""
    z = sum(v * w for v, w in zip(values.tolist(), weights, strict=False)) + weights[-1]
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


@lru_cache(maxsize=64)  # a few thresholds, asked once per lookup
def min_cosine(threshold: float, weights: tuple[float, ...] = WEIGHTS) -> float:
    """The lowest cosine at which a pair can still score `threshold` (the cache skips
    candidates below it without computing their features)."""
    if threshold <= 0.0:
        return -1.0
    if threshold >= 1.0:
        return 2.0
    return max(MIN_COSINE, _bound(threshold, weights))


def _bound(threshold: float, weights: tuple[float, ...]) -> float:
    logit = math.log(threshold / (1.0 - threshold))
    best_rest = sum(max(w * lo, w * hi) for w, (lo, hi) in
                    zip(weights[1:-1], _BOUNDS[1:], strict=True))
    if weights[0] <= 0:
        return -1.0
    return (logit - weights[-1] - best_rest) / weights[0]


def replaced_word(values: np.ndarray, fa: TextFacts, fb: TextFacts) -> bool:
    """The one hard rule that needs word vectors: in a short prompt, one word replaced, in
    the same place, by a word that is not a synonym, the other words written alike and in
    the same order ("show disk usage" / "show memory usage", "start" / "restart" the
    container). In a short command that word is the request's object or verb. A reworded
    prompt ("It doesn't exist in that version" / "That version does not contain it") or a
    long sentence is left to the score: on the calibration pairs refusing those refused
    true paraphrases only."""
    return bool(values[FEATURES.index("lone_replacement")]) and \
        (fa.length + fb.length) / 2 <= SHORT_PROMPT_WORDS and _one_place(fa, fb)


def _one_place(fa: TextFacts, fb: TextFacts) -> bool:
    """The content words, in order, differ at exactly one place."""
    a, b = fa.sequence, fb.sequence
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def match_facts(fa: TextFacts, fb: TextFacts, cosine: float,
                vectors: WordVectors | None = None,
                weights: tuple[float, ...] = WEIGHTS, threshold: float | None = None) -> Match:
    """`match` on facts already extracted.

    With a `threshold`, a pair that cannot reach it whatever its word vectors say is not
    given them: its score is then the highest it could have had (below the threshold)."""
    reason = conflict_facts(fa, fb)
    if reason is not None:
        return Match(-1.0, reason)
    if cosine < MIN_COSINE:
        return Match(0.0)
    values, unmatched, best = _features(
        fa, fb, cosine, vectors, None if threshold is None else (threshold, weights))
    if best is not None:
        return Match(best, None, unmatched)
    if replaced_word(values, fa, fb):
        return Match(-1.0, f"replaced word differs ({'/'.join(unmatched)})", unmatched)
    return Match(score(values, weights), None, unmatched)


def match(a: str, b: str, cosine: float, vectors: WordVectors | None = None) -> Match:
    """Score prompt `b` against cached prompt `a` whose embeddings have `cosine`.

    Args:
        a: one prompt.
        b: the other.
        cosine: the cosine of their embeddings.
        vectors: word vectors (`EmbeddingService.embed`); without them, replaced words
            count as unmatched.
    """
    return match_facts(facts(a), facts(b), cosine, vectors)
