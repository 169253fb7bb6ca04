"""The semantic-hit guard and the vector index."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from aios.embeddings import EmbeddingService
from aios.routing import DEFAULT_THRESHOLD, VectorIndex, conflict
from aios.routing.guard import facts
from aios.routing.sameness import match, match_facts


@pytest.mark.parametrize(("a", "b", "why"), [
    ("turn on the firewall", "turn off the firewall", "opposites"),
    ("stopped the service", "started the service", "opposites"),
    ("Is the port open?", "Is the port not open?", "negation"),
    ("The service doesn't restart", "The service restarts", "negation"),
    ("Sold for $2.5 billion in 1998", "Sold for $1.8 billion in 1998", "numbers"),
    ("Restart the server web-01", "Restart the server web-02", "identifiers"),
    ("Check disk usage on db-primary", "Check disk usage on db-replica", "identifiers"),
    ("Restart the worker in five minutes", "Restart the worker in five seconds", "units"),
    ("List the healthy pods", "List the unhealthy pods", "opposites"),
    ("Upgrade the postgres package", "Downgrade the postgres package", "opposites"),
    ("Upgrade to Python 3.11", "Upgrade to Python 3.12", "numbers"),
    ("Sold for $2 billion", "Sold for $2 million", "numbers"),
    ("Load the files in streaming mode", "Load the files in non-streaming mode", "negation"),
    ("What's the weather today?", "What's the weather tomorrow?", "opposites"),
    ("Sum the even numbers", "Sum the odd numbers", "opposites"),
    ("question from t.one", "question from t.two", "identifiers"),
    ("Convert a string to an integer", "Convert an integer to a string", "direction"),
    ("Convert celsius to fahrenheit", "How do I turn fahrenheit into celsius?", "direction"),
    ("Copy the logs from staging to production", "Copy the logs from production to staging",
     "direction"),
    ("Forward port 8080 to port 80", "Forward port 80 to port 8080", "direction"),
    ("Rename report.txt to summary.txt", "Rename summary.txt to report.txt", "direction"),
    ("Redirect http to https", "Redirect https to http", "direction"),
    ("Merge the feature branch into main", "Merge main into the feature branch", "direction"),
    ("Promote the replica to primary", "Demote the primary to replica", "opposites"),
])
def test_conflicting_pairs_are_refused(a: str, b: str, why: str) -> None:
    reason = conflict(a, b)
    assert reason is not None and why in reason


@pytest.mark.parametrize(("a", "b"), [
    ("How do I list running containers?", "How can I list all the running containers?"),
    ("What is the capital of France?", "What's the capital city of France?"),
    ("Sold for 1,000 dollars", "It sold for 1000 dollars"),
    ("No, it doesn't exist in version 2.10.0.", "Version 2.10.0 does not have it."),
    ("There are datasets in over 100 languages",
     "There are datasets in more than one hundred languages"),
    ("Sold for $2.5 billion", "Sold for $2,500 million"),
    ("The one we wanted is twenty-one", "The version we wanted is 21"),
    ("Extract the archives in non-streaming mode", "Extract the archives without streaming"),
    ("In the absence of a script, all files are loaded",
     "If there is no script, all files are loaded"),
    ("The parameters of the datasets.AudioClassification class",
     "The parameters of the AudioClassification class of datasets"),
    ("Convert a string to an integer", "How do I turn a string into an integer?"),
    ("How to sort a list in Python", "In Python, how to sort a list"),
    ("How do I restart nginx?", "how to restart nginx"),
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


def _match(embedder: EmbeddingService, a: str, b: str, words: bool = True) -> tuple[float, float]:
    cosine = embedder.similarity(a, b)
    return cosine, match(a, b, cosine, embedder.embed if words else None).score


def test_an_added_request_scores_below_the_threshold(embedder: EmbeddingService) -> None:
    short = "Restart the web server"
    _, score = _match(embedder, short, short + " and clear its logs")
    assert score < DEFAULT_THRESHOLD
    _, same = _match(embedder, "How do I list running containers?",
                     "How can I list all the running containers?")
    assert same >= DEFAULT_THRESHOLD


def test_a_lone_replaced_word_in_a_short_prompt_must_be_a_synonym(
        embedder: EmbeddingService) -> None:
    _, score = _match(embedder, "how to delete a git branch", "how to remove a git branch")
    assert score >= DEFAULT_THRESHOLD  # delete/remove: synonyms by their vectors
    _, score = _match(embedder, "download a complete playlist", "download an entire playlist")
    assert score >= DEFAULT_THRESHOLD  # complete/entire: synonyms by the table
    cosine = embedder.similarity("how to start a docker container",
                                 "how to restart a docker container")
    verdict = match("how to start a docker container", "how to restart a docker container",
                    cosine, embedder.embed)
    assert cosine > 0.9 and verdict.reason == "replaced word differs (start/restart)"


def test_a_reworded_prompt_is_not_a_lone_replaced_word(embedder: EmbeddingService) -> None:
    # One content word differs (exist/contain) but the sentence is rebuilt around it: not a
    # word swapped in place, so the score decides (the rule refused such paraphrases).
    verdict = match("It doesn't exist in that version.", "That version does not contain it.",
                    0.9, embedder.embed)
    assert verdict.reason is None
    verdict = match("It selects records from a table.", "It retrieves records from a table.",
                    0.9, embedder.embed)
    assert verdict.reason == "replaced word differs (selects/retrieves)"  # in place


@pytest.mark.parametrize("threshold", [0.5, DEFAULT_THRESHOLD, 0.95])
def test_a_pair_skipped_for_its_bound_gets_the_same_decision(
        embedder: EmbeddingService, threshold: float) -> None:
    pairs = [("Restart the web server", "Restart the web server and clear its logs"),
             ("How do I list running containers?", "How can I list all the running containers?"),
             ("Show disk usage", "Show the memory usage of the api pods in staging"),
             ("List the open ports", "Close every port that is open on the gateway"),
             ("Delete the old backups", "Remove the backups older than a week"),
             ("Show the logs of the api", "What time is it in Tokyo?")]
    skipped = 0
    for a, b in pairs:
        cosine = embedder.similarity(a, b)
        full = match_facts(facts(a), facts(b), cosine, embedder.embed)
        bounded = match_facts(facts(a), facts(b), cosine, embedder.embed, threshold=threshold)
        assert (full.score >= threshold) == (bounded.score >= threshold), (a, b)
        assert bounded.score >= full.score
        skipped += bounded != full
    assert skipped or threshold < DEFAULT_THRESHOLD  # "... and clear its logs" is skipped


def test_related_rewordings_need_word_vectors(embedder: EmbeddingService) -> None:
    a = "The method converts the table to a pandas DataFrame and returns it."
    b = "The method transforms the table into a pandas DataFrame and gives it back."
    _, with_words = _match(embedder, a, b)
    _, without = _match(embedder, a, b, words=False)
    assert with_words >= DEFAULT_THRESHOLD > without  # converts/transforms pair up


def test_a_hard_rule_refuses_whatever_the_similarity(embedder: EmbeddingService) -> None:
    verdict = match("turn on the firewall", "turn off the firewall", 0.99, embedder.embed)
    assert verdict.reason == "opposites differ (on/off)" and verdict.score < 0


def test_cached_facts_hold_no_objects_the_garbage_collector_tracks() -> None:
    found = facts("Upgrade the Postgres server to 16.2 and restart it, not before noon.")
    assert not hasattr(found, "__dict__")
    gc.collect()  # tuples of strings are untracked by the first collection that sees them
    assert not any(gc.is_tracked(getattr(found, name)) for name in found.__slots__)
