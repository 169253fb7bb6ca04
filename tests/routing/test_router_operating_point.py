"""The router's willingness-to-pay rule: per-prompt cost, the frontier budget, the margin."""

from __future__ import annotations

import numpy as np
import pytest
from tests.routing.test_training import slice_csv

from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.types import LLMRequest, ModelInfo
from aios.routing import ReferenceModel, Router, TierClassifier, read_routing_data, train_router
from aios.routing.features import FEATURE_NAMES
from aios.routing.training import _fit_log_cost, _frontier_budget


def test_the_budget_lies_on_the_concave_hull_of_the_frontier() -> None:
    spend = np.array([1.0, 2.0, 3.0, 2.5, 1.8])
    accuracy = np.array([0.5, 0.8, 0.85, 0.6, 0.55])  # (2.5, 0.6) and (1.8, 0.55) are inside
    assert _frontier_budget(spend, accuracy, 0.65) == pytest.approx(1.5)
    assert _frontier_budget(spend, accuracy, 0.825) == pytest.approx(2.5)
    assert _frontier_budget(spend, accuracy, 0.4) == pytest.approx(1.0)
    assert _frontier_budget(spend, accuracy, 0.95) == pytest.approx(3.0)  # unreachable


def test_the_cost_model_recovers_a_log_linear_cost() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 2))
    cost = np.exp(np.column_stack([-7.0 + 0.8 * z[:, 0], -4.0 + 0.0 * z[:, 1]]))
    w = _fit_log_cost(z, cost, l2=1e-6)
    assert w[0, 0] == pytest.approx(0.8, abs=1e-3) and w[-1, 1] == pytest.approx(-4.0, abs=1e-3)
    assert abs(w[1, 0]) < 1e-3 and abs(w[0, 1]) < 1e-3


def _priced_classifier(embedder: EmbeddingService) -> TierClassifier:
    """Two references, equally likely to be right; the dear one costs more on long prompts."""
    dim = embedder.dim + len(FEATURE_NAMES)
    weights = np.zeros((dim + 1, 2))
    weights[-1] = [1.0, 1.3]  # P(correct) 0.73 and 0.79 everywhere
    cost_model = np.zeros((dim + 1, 2))
    tokens = embedder.dim + FEATURE_NAMES.index("log_tokens")
    cost_model[tokens, 1] = 20.0  # log cost of the dear model grows with log prompt length
    cost_model[-1] = [np.log(1e-4), np.log(1e-3)]
    refs = (ReferenceModel("cheap-ref", "simple", 1e-4), ReferenceModel("dear-ref", "complex",
                                                                        1e-3))
    mean = np.zeros(dim)
    mean[tokens] = 0.3  # log1p(~20 tokens) / 10: a short prompt costs about the mean
    return TierClassifier(embedder.name, refs, weights, mean, np.ones(dim), 0.2,
                          cost_model=cost_model)


def test_the_choice_weighs_the_predicted_cost_of_each_prompt(embedder: EmbeddingService,
                                                             tmp_path) -> None:
    classifier = _priced_classifier(embedder)
    candidates = [ModelInfo("s", "openai", "cheap-ref", tier="simple"),
                  ModelInfo("c", "openai", "dear-ref", tier="complex")]
    router = Router(classifier=classifier, embedder=embedder)
    short = router.route(LLMRequest.of("Name a colour."), candidates)
    long = router.route(LLMRequest.of("Name a colour. " + "Think about it carefully. " * 400),
                        candidates)
    assert short.tier == "complex"  # cheap enough: the better model is worth it
    assert long.tier == "simple"  # the same gain is not worth a long prompt's cost
    loaded = TierClassifier.load(classifier.save(tmp_path / "priced.npz"))
    assert loaded.cost_model is not None
    assert np.allclose(loaded.cost_model, classifier.cost_model, rtol=1e-5)
    assert Router(classifier=loaded, embedder=embedder).route(
        LLMRequest.of("Name a colour."), candidates).tier == "complex"


def test_without_a_cost_model_each_reference_costs_its_mean() -> None:
    refs = (ReferenceModel("a", "simple", 1e-4), ReferenceModel("b", "complex", 2e-3))
    classifier = TierClassifier("e", refs, np.zeros((3, 2)), np.zeros(2), np.ones(2), 0.5)
    assert classifier.predict_cost(np.zeros((3, 2))).tolist() == [[1e-4, 2e-3]] * 3
    assert classifier.cost_unit == 2e-3


def test_a_margin_outside_zero_to_five_standard_errors_is_refused(
        routing_dir, embedder: EmbeddingService) -> None:
    data = read_routing_data([routing_dir / "mbpp_train.csv"])
    with pytest.raises(ConfigError, match="standard errors"):
        train_router(data, embedder, margin_se=-1.0)


def test_on_held_out_rows_the_router_keeps_most_accuracy_for_a_fraction_of_the_cost(
        routing_dir, embedder: EmbeddingService, tmp_path) -> None:
    data = read_routing_data([], folders=[slice_csv(routing_dir, tmp_path / "slice", 200)])
    reports = [train_router(data, embedder, seed=seed, folds=3)[1] for seed in (0, 1, 2)]
    # Averaged over three splits of 600 rows (180 held out each): always-strongest would
    # fail the cost bound and always-cheapest (~66% of GPT-4's accuracy) the accuracy one.
    assert np.mean([r.accuracy_ratio for r in reports]) >= 0.88
    assert np.mean([r.cost_ratio for r in reports]) <= 0.5
    assert all(r.budget > 0 and r.cost_weight > 0 for r in reports)
