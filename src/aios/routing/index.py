"""A vector index for one cache bucket: exact numpy search, HNSW (usearch) once it is large.

Brute force over 100,000 256-d vectors costs a few milliseconds, over the 1 ms budget of a
semantic lookup; an HNSW graph answers in well under 1 ms. Small buckets (most of them: one
per system prompt, tool set and model) stay exact, which is both faster and free of recall
loss. Scores returned are always exact cosines, recomputed from the stored vectors, so the
similarity threshold means the same thing in both modes.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import numpy as np

__all__ = ["ANN_AVAILABLE", "VectorIndex"]

log = logging.getLogger("aios.routing.index")

ANN_AVAILABLE = importlib.util.find_spec("usearch") is not None


class VectorIndex:
    """Unit vectors keyed by integer ids; top-k by cosine.

    Args:
        dim: vector length.
        ann_threshold: from this many vectors on, searches go through an HNSW graph
            (`usearch`, when installed); below it, exact numpy search.
        ann_options: usearch `Index` options (connectivity, expansion_search, dtype ...).
    """

    def __init__(self, dim: int, *, ann_threshold: int = 8192,
                 ann_options: dict[str, Any] | None = None):
        self.dim = dim
        self.ann_threshold = ann_threshold
        self.ann_options = {"metric": "cos", "dtype": "i8", "connectivity": 16,
                            "expansion_add": 64, "expansion_search": 64,
                            **(ann_options or {})}
        self._vectors = np.empty((16, dim), dtype=np.float32)
        self._keys = np.empty(16, dtype=np.int64)
        self._row: dict[int, int] = {}
        self._ann: Any = None

    def __len__(self) -> int:
        return len(self._row)

    @property
    def uses_ann(self) -> bool:
        """True when searches go through the HNSW graph."""
        return self._ann is not None

    def add(self, key: int, vector: np.ndarray) -> None:
        """Add (or replace) the vector of `key`."""
        if key in self._row:
            self.remove(key)
        size = len(self._row)
        if size == len(self._keys):
            self._vectors = np.resize(self._vectors, (size * 2, self.dim))
            self._keys = np.resize(self._keys, size * 2)
        self._vectors[size] = vector
        self._keys[size] = key
        self._row[key] = size
        if self._ann is not None:
            self._ann.add(key, vector)
        elif size + 1 >= self.ann_threshold:
            self._build_ann()

    def add_many(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Add many vectors at once (loading a cache); builds the graph in one batch."""
        if self._ann is not None:
            for key, vector in zip(keys.tolist(), vectors, strict=True):
                self.add(key, vector)
            return
        for key, vector in zip(keys.tolist(), vectors, strict=True):
            if key in self._row:
                self.remove(key)
            size = len(self._row)
            if size == len(self._keys):
                grow = max(size * 2, size + len(keys))
                self._vectors = np.resize(self._vectors, (grow, self.dim))
                self._keys = np.resize(self._keys, grow)
            self._vectors[size] = vector
            self._keys[size] = key
            self._row[key] = size
        if len(self._row) >= self.ann_threshold:
            self._build_ann()

    def remove(self, key: int) -> None:
        """Forget `key` (no error if absent)."""
        row = self._row.pop(key, None)
        if row is None:
            return
        last = len(self._row)  # the old last row index
        if row != last:  # keep rows dense: move the last vector into the hole
            moved = int(self._keys[last])
            self._vectors[row] = self._vectors[last]
            self._keys[row] = moved
            self._row[moved] = row
        if self._ann is not None:
            self._ann.remove(key)

    def vector(self, key: int) -> np.ndarray:
        """The stored vector of `key`."""
        return np.asarray(self._vectors[self._row[key]])

    def search(self, query: np.ndarray, k: int = 4) -> list[tuple[int, float]]:
        """The `k` nearest keys with their exact cosine, best first."""
        size = len(self._row)
        if size == 0:
            return []
        if self._ann is not None:
            # One query: no thread pool (waking its workers costs more than the search).
            found = self._ann.search(query, min(k, size), threads=1)
            row_of = self._row
            rows: Any = [row_of[key] for key in found.keys.tolist() if key in row_of]
            if not rows:
                return []
            scores = self._vectors[rows] @ query
        else:
            scores_all = self._vectors[:size] @ query
            rows = np.argpartition(scores_all, -k)[-k:] if size > k else np.arange(size)
            scores = scores_all[rows]
        keys = self._keys
        return [(int(keys[rows[i]]), float(scores[i])) for i in np.argsort(-scores).tolist()]

    def _build_ann(self) -> None:
        if not ANN_AVAILABLE:
            log.debug("usearch is not installed; bucket of %d vectors stays exact",
                      len(self._row))
            return
        from usearch.index import Index

        index = Index(ndim=self.dim, **self.ann_options)
        size = len(self._row)
        index.add(self._keys[:size].copy(), self._vectors[:size].copy())
        self._ann = index
