"""The curiosity policy (UCB1), retrieval, autonomy rules and gold matching."""

from __future__ import annotations

import math

import pytest
from tests.discovery.conftest import CORPUS, GOLD

from aios.discovery import (
    CuriosityConfig,
    CuriosityPolicy,
    FrontierItem,
    HybridIndex,
    build_mission,
    chunk,
    information_gain,
    load_corpus,
    load_gold,
    match_claims,
)
from aios.discovery.autonomy import StepPlan, approval_needed
from aios.errors import ConfigError


def _item(name: str, *, prior: float, pulls: int = 0, gain: float = 0.0,
          order: int = 0) -> FrontierItem:
    return FrontierItem(id=name, question=name, query=name, origin="fallback", prior=prior,
                        pulls=pulls, gain=gain, order=order)


def test_score_is_ucb1_over_the_prior_and_observed_gains() -> None:
    policy = CuriosityPolicy(CuriosityConfig(c=0.5))
    item = _item("a", prior=0.6, pulls=3, gain=1.2)
    expected = (0.6 + 1.2) / 4 + 0.5 * math.sqrt(math.log(1 + 10) / 4)
    assert policy.score(item, 10) == pytest.approx(expected)


def test_prior_is_the_weighted_mean_of_the_signals() -> None:
    policy = CuriosityPolicy(CuriosityConfig(w_novelty=1, w_uncertainty=0, w_relevance=3))
    assert policy.prior(1.0, 0.0, 0.5) == pytest.approx((1 + 1.5) / 4)


def test_exploitation_keeps_pulling_what_paid_and_exploration_tries_the_new() -> None:
    paid = _item("paid", prior=0.5, pulls=5, gain=4.5, order=0)
    fresh = _item("fresh", prior=0.5, order=1)
    assert CuriosityPolicy(CuriosityConfig(c=0.0)).choose([paid, fresh], 5) is paid
    assert CuriosityPolicy(CuriosityConfig(c=2.0)).choose([paid, fresh], 5) is fresh


def test_ties_go_to_the_older_item_and_done_items_are_skipped() -> None:
    a, b = _item("a", prior=0.5, order=0), _item("b", prior=0.5, order=1)
    assert CuriosityPolicy(CuriosityConfig()).choose([b, a], 0) is a
    a.done = True
    assert CuriosityPolicy(CuriosityConfig()).choose([a, b], 0) is b
    b.done = True
    assert CuriosityPolicy(CuriosityConfig()).choose([a, b], 0) is None


def test_information_gain_grows_with_new_knowledge_and_stays_below_one() -> None:
    assert information_gain(0, 0, 0, 0, 4.0) == 0.0
    assert 0 < information_gain(1, 0, 0, 0, 4.0) < information_gain(4, 2, 0, 0, 4.0) < 1


def test_hybrid_retrieval_finds_by_words_and_by_meaning(embedder: object) -> None:
    passages = [p for d in load_corpus(CORPUS) for p in chunk(d, 300)]
    index = HybridIndex(passages, embedder)  # type: ignore[arg-type]
    [top] = index.search("Who makes the Gull-7 processor?", k=1)
    assert "Gull-7" in top.passage.text
    assert index.search("zyxwvut qqqq", k=3) == []
    read = {h.passage.id for h in index.search("Gull-7", k=2)}
    assert not read & {h.passage.id for h in index.search("Gull-7", k=5, exclude=read)}


def test_bm25_alone_works_without_an_embedder() -> None:
    passages = [p for d in load_corpus(CORPUS) for p in chunk(d, 300)]
    hits = HybridIndex(passages).search("Northwind Foundry founder", k=3)
    assert hits and all(h.similarity is None for h in hits)
    assert any("Kwame Mensah" in h.passage.text for h in hits)


def _plan(step: int, *, pulls: int = 0, new: tuple[str, ...] = (), tokens: int = 0,
          used: float = 0.0) -> StepPlan:
    item = _item("q", prior=0.5, pulls=pulls)
    return StepPlan(step, item, ("corpus:x", *new), new, tokens, used)


def test_each_autonomy_level_asks_for_what_it_documents() -> None:
    base = {"question": "mission text", "sources": ["corpus:x"]}
    level = {n: build_mission(**base, autonomy=n, approval_threshold=0.5,
                              expensive_tokens=1000) for n in range(5)}
    assert [a.key for a in approval_needed(level[0], _plan(3, pulls=2), set())] == ["step:3"]
    assert [a.key for a in approval_needed(level[1], _plan(3), set())] == ["question:q"]
    assert approval_needed(level[1], _plan(4, pulls=1), set()) == []
    keys = [a.key for a in approval_needed(level[2], _plan(2, new=("model",), tokens=5000),
                                           set())]
    assert keys == ["source:model", "expensive:2"]
    assert approval_needed(level[2], _plan(2), set()) == []
    assert approval_needed(level[3], _plan(9, used=0.4), set()) == []
    assert [a.key for a in approval_needed(level[3], _plan(9, used=0.6), set())] == [
        "budget:threshold"]
    assert approval_needed(level[3], _plan(9, used=0.6), {"budget:threshold"}) == []
    assert approval_needed(level[4], _plan(1, new=("model",), tokens=10**6, used=0.9),
                           set()) == []


@pytest.mark.parametrize("fields, message", [
    ({"budget": {"steps": 0}}, "budget.steps"),
    ({"budget": {"usd": -1}}, "budget.usd"),
    ({"budget": {"tokens": 0}}, "budget.tokens"),
    ({"sources": ["web:http://x"]}, "unknown source kind 'web'"),
    ({"sources": ["corpus:"]}, "needs a path"),
    ({"sources": []}, "sources"),
    ({"autonomy": 5}, "autonomy"),
])
def test_bad_missions_are_config_errors_naming_the_field(fields: dict[str, object],
                                                         message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_mission(**{"question": "mission text", "sources": ["corpus:x"], **fields})


def test_gold_matching_uses_normalised_names_and_relation_synonyms() -> None:
    gold = load_gold(GOLD)
    assert len(gold) >= 60
    score = match_claims([("the Corvid Systems", "located_in", "Port Alder"),
                          ("Corvid Systems", "partnered_with", "Saltmarsh Analytics"),
                          ("Corvid Systems", "founded_in", "1999")], gold)
    assert (score.claims, score.matched_claims, score.recalled) == (3, 2, 2)
    assert score.precision == pytest.approx(2 / 3)


def test_a_malformed_gold_line_is_reported_with_file_and_line(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "gold.jsonl"
    path.write_text('{"subject": "a", "relation": "r", "object": "b"}\n{"subject": 1}\n')
    with pytest.raises(ConfigError, match=r"gold\.jsonl:2"):
        load_gold(path)
