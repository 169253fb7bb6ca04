"""The semantic-hit guard and the vector index."""

from __future__ import annotations

import numpy as np
import pytest

from aios.routing import VectorIndex, conflict


@pytest.mark.parametrize(("a", "b", "why"), [
    ("turn on the firewall", "turn off the firewall", "opposites"),
    ("stopped the service", "started the service", "opposites"),
    ("Is the port open?", "Is the port not open?", "negation"),
    ("The service doesn't restart", "The service restarts", "negation"),
    ("Sold for $2.5 billion in 1998", "Sold for $1.8 billion in 1998", "numbers"),
    ("Restart the Postgres server", "Restart the MySQL server", "names"),
    ("Upgrade to Python 3.11", "Upgrade to Python 3.12", "numbers"),
])
def test_conflicting_pairs_are_refused(a: str, b: str, why: str) -> None:
    reason = conflict(a, b)
    assert reason is not None and why in reason


@pytest.mark.parametrize(("a", "b"), [
    ("How do I list running containers?", "How can I list all the running containers?"),
    ("What is the capital of France?", "What's the capital city of France?"),
    ("Sold for 1,000 dollars", "It sold for 1000 dollars"),
    ("No, it doesn't exist in version 2.10.0.", "Version 2.10.0 does not have it."),
])
def test_paraphrases_pass(a: str, b: str) -> None:
    assert conflict(a, b) is None


@pytest.mark.parametrize("ann_threshold", [10**9, 64])
def test_index_finds_nearest_with_exact_scores_in_both_modes(ann_threshold: int) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(32, ann_threshold=ann_threshold)
    index.add_many(np.arange(250), vectors[:250])
    for key in range(250, 500):
        index.add(key, vectors[key])
    for key in range(0, 500, 2):
        index.remove(key)
    assert len(index) == 250
    assert index.uses_ann == (ann_threshold == 64)
    found_self = 0
    for key in range(1, 500, 24):  # odd keys: the even ones were removed
        found = index.search(vectors[key], 3)
        found_self += found[0][0] == key
        for other, score in found:  # scores are exact cosines, best first
            assert score == pytest.approx(float(vectors[other] @ vectors[key]), abs=1e-5)
        assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    # Exact search always finds the vector itself; HNSW is approximate (recall, not always).
    assert found_self == 21 if not index.uses_ann else found_self >= 17
    assert all(k % 2 == 1 for k, _ in index.search(vectors[0], 10))


def test_index_replaces_a_key_and_handles_empty() -> None:
    index = VectorIndex(4)
    assert index.search(np.ones(4, dtype=np.float32), 2) == []
    index.add(1, np.array([1, 0, 0, 0], dtype=np.float32))
    index.add(1, np.array([0, 1, 0, 0], dtype=np.float32))
    assert len(index) == 1
    assert index.search(np.array([0, 1, 0, 0], dtype=np.float32), 1)[0] == (1, 1.0)
