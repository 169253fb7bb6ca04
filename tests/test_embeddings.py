"""The embedding service: shape, normalisation, LRU, backends."""

from __future__ import annotations

import numpy as np
import pytest

from aios.embeddings import EmbeddingService, backend_names
from aios.errors import ConfigError


@pytest.fixture(scope="module")
def service() -> EmbeddingService:
    return EmbeddingService.open(cache_size=3)


def test_embed_returns_unit_float32_rows(service: EmbeddingService) -> None:
    vectors = service.embed(["check disk space", "list containers", ""])
    assert vectors.shape == (3, service.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert not vectors[2].any()  # an empty text has no direction
    assert service.name.startswith("wordllama")


def test_similar_texts_score_higher_than_unrelated(service: EmbeddingService) -> None:
    close = service.similarity("How do I list running containers?",
                               "How can I see the running containers?")
    far = service.similarity("How do I list running containers?", "bake a chocolate cake")
    assert close > far + 0.3


def test_recent_texts_come_from_the_lru(service: EmbeddingService) -> None:
    first = service.embed(["alpha beta", "alpha beta"])
    assert np.array_equal(first[0], first[1])
    hits = service.hits
    again = service.embed_one("alpha beta")
    assert service.hits == hits + 1 and np.array_equal(again, first[0])
    service.embed(["one", "two", "three", "four"])  # cache_size 3: "alpha beta" is evicted
    misses = service.misses
    service.embed_one("alpha beta")
    assert service.misses == misses + 1


def test_batch_and_single_embeddings_agree(service: EmbeddingService) -> None:
    texts = ["firewall rules", "memory usage of the host", "a"]
    batch = EmbeddingService(service.backend, cache_size=0).embed(texts)
    single = np.stack([EmbeddingService(service.backend, cache_size=0).embed([t])[0]
                       for t in texts])
    assert np.allclose(batch, single, atol=1e-6)


def test_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="wordllama"):
        EmbeddingService.open("nope")
    assert {"wordllama", "minilm"} <= set(backend_names())
