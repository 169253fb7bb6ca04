"""Hybrid passage retrieval: BM25 (`rank-bm25`) and embeddings, fused by reciprocal rank.

BM25 finds passages sharing the query's words; embeddings find passages that say the same
thing in other words. Reciprocal rank fusion (`1 / (k + rank)` summed over both lists) needs
no score calibration between the two. A passage is evidence only when it shares a term with
the query or its embedding similarity reaches `min_similarity`: with neither, the index
answers "nothing found" instead of returning the least bad passage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from aios.discovery.corpus import Passage
from aios.errors import ConfigError

__all__ = ["Embedder", "Hit", "HybridIndex", "tokenize"]

_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_STOP = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have",
                   "he", "her", "his", "in", "is", "it", "its", "of", "on", "or", "she", "that",
                   "the", "their", "they", "this", "to", "was", "were", "what", "which", "who",
                   "whom", "with", "about", "known", "how", "did", "does", "do", "when", "where",
                   "why"])


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised vectors (the shared embedding service)."""

    def embed(self, texts: list[str]) -> np.ndarray:
        """One row per text, L2-normalised float32."""
        ...


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stop words (for BM25)."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the evidence for it."""

    passage: Passage
    score: float
    bm25: float
    similarity: float | None


class HybridIndex:
    """A BM25 + embedding index over passages.

    Args:
        passages: what to index.
        embedder: the embedding service, or None for BM25 alone.
        min_similarity: embedding similarity that counts as evidence without a shared term.
        rrf_k: the reciprocal-rank-fusion constant (60 is the usual choice).
    """

    def __init__(self, passages: Sequence[Passage], embedder: Embedder | None = None, *,
                 min_similarity: float = 0.35, rrf_k: int = 60):
        self.passages = list(passages)
        self._embedder = embedder
        self._min_similarity = min_similarity
        self._rrf_k = rrf_k
        self._bm25 = None
        self._terms: list[frozenset[str]] = []
        if self.passages:
            try:
                from rank_bm25 import BM25Okapi
            except ImportError as exc:
                raise ConfigError("BM25 retrieval needs rank-bm25: pip install "
                                  "'aios[discovery]'") from exc

            # Title words are indexed with the passage: a later passage of a biography says
            # "she", and the title is what ties it to the person.
            tokens = [tokenize(f"{p.title} {p.text}") or ["\u2205"] for p in self.passages]
            self._bm25 = BM25Okapi(tokens)
            self._terms = [frozenset(t) for t in tokens]
        self._vectors: np.ndarray | None = None
        if embedder is not None and self.passages:
            self._vectors = np.asarray(
                embedder.embed([f"{p.title}. {p.text}" for p in self.passages]),
                dtype=np.float32)

    def __len__(self) -> int:
        return len(self.passages)

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw BM25 scores and embedding similarities (None without an embedder), per passage."""
        terms = tokenize(query)
        bm25 = (np.asarray(self._bm25.get_scores(terms), dtype=np.float64)
                if self._bm25 is not None and terms else np.zeros(len(self.passages)))
        sims: np.ndarray | None = None
        if self._vectors is not None and self._embedder is not None:
            qvec = np.asarray(self._embedder.embed([query]), dtype=np.float32)[0]
            sims = (self._vectors @ qvec).astype(np.float64)
        return bm25, sims

    def search(self, query: str, k: int = 10, *, exclude: Iterable[str] = ()) -> list[Hit]:
        """The `k` best passages for `query` that count as evidence, best first.

        Args:
            exclude: passage ids to leave out (passages already read).
        """
        if not self.passages:
            return []
        skip = set(exclude)
        terms = set(tokenize(query))
        bm25, sims = self.scores(query)
        fused = np.zeros(len(self.passages))
        for scores in (bm25, sims):
            if scores is None:
                continue
            order = np.argsort(-scores, kind="stable")
            ranks = np.empty(len(order), dtype=np.int64)
            ranks[order] = np.arange(len(order))
            fused += 1.0 / (self._rrf_k + 1 + ranks)
        hits = []
        for i in np.argsort(-fused, kind="stable"):
            passage = self.passages[int(i)]
            similarity = float(sims[i]) if sims is not None else None
            # Shared terms, not BM25 > 0: in a tiny index a term in half the passages has
            # an IDF of zero, yet a passage naming the entity is evidence.
            relevant = bool(terms & self._terms[i]) or (
                similarity is not None and similarity >= self._min_similarity)
            if passage.id in skip or not relevant:
                continue
            hits.append(Hit(passage, float(fused[i]), float(bm25[i]), similarity))
            if len(hits) >= k:
                break
        return hits
