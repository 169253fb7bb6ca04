"""The router: fit checks, budget, each policy, the classifier path, decisions as records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aios.embeddings import EmbeddingService
from aios.errors import BudgetExceeded, ConfigError, NotFoundError
from aios.llm.types import LLMRequest, ModelInfo
from aios.routing import (
    LatencyEstimator,
    ReferenceModel,
    Router,
    TierClassifier,
    create_policy,
    extract_features,
    policy_names,
)
from aios.routing.features import FEATURE_NAMES

TOOL = {"type": "function", "function": {"name": "df", "parameters": {"type": "object"}}}


def models() -> list[ModelInfo]:
    return [
        ModelInfo("tiny", "local", "tiny", tier="simple", context_window=2048,
                  input_price=0.0, output_price=0.0),
        ModelInfo("cheap", "openai", "c", tier="simple", context_window=16000,
                  supports_json=True, input_price=0.1, output_price=0.4),
        ModelInfo("mid", "anthropic", "m", tier="medium", context_window=100000,
                  supports_tools=True, supports_json=True, input_price=1.0, output_price=4.0),
        ModelInfo("mid-pricey", "openai", "m2", tier="medium", context_window=100000,
                  supports_tools=True, supports_json=True, input_price=3.0,
                  output_price=12.0),
        ModelInfo("big", "openai", "b", tier="complex", context_window=200000,
                  supports_tools=True, supports_json=True, input_price=10.0,
                  output_price=30.0),
    ]


def test_a_simple_prompt_goes_to_the_cheapest_simple_model() -> None:
    decision = Router().route(LLMRequest.of("hello, who are you?"), models())
    assert decision.model == "tiny" and decision.tier == "simple"
    assert decision.policy == "cheapest-adequate" and "simple" in decision.reason


def test_never_picks_a_model_whose_context_is_too_small() -> None:
    long_prompt = "word " * 6000  # ~8,000 tokens: too big for tiny (2,048) and cheap (16,000)?
    request = LLMRequest.of(long_prompt, max_tokens=9000)
    for policy in policy_names():
        params = {"model": "mid"} if policy == "explicit" else {}
        decision = Router(policy, policy_params=params).route(request, models())
        assert decision.model not in ("tiny", "cheap")
        assert "context window" in decision.rejected["tiny"]
        assert "context window" in decision.rejected["cheap"]


def test_never_picks_a_model_without_a_needed_capability() -> None:
    router = Router()
    with_tools = router.route(LLMRequest.of("hi", tools=(TOOL,)), models())
    assert with_tools.model == "mid"  # cheapest model with tools; simple ones have none
    assert with_tools.rejected["cheap"] == "no tool support"
    with_json = router.route(LLMRequest.of("hi", response_format={}), models())
    assert with_json.model == "cheap" and with_json.rejected["tiny"] == "no JSON output support"
    for policy in ("quality-first", "latency-budget"):
        decision = Router(policy).route(LLMRequest.of("hi", tools=(TOOL,)), models())
        assert decision.model in ("mid", "mid-pricey", "big")


def test_no_fitting_model_is_an_error_that_lists_why() -> None:
    with pytest.raises(NotFoundError, match="tiny: no tool support"):
        Router().route(LLMRequest.of("hi", tools=(TOOL,)), models()[:2])


def test_the_budget_hint_excludes_models_it_cannot_afford() -> None:
    request = LLMRequest.of("Prove step by step that the sum of two even numbers is even.",
                            max_tokens=1000)
    unbounded = Router().route(request, models())
    assert unbounded.model == "big"
    bounded = Router().route(request, models(), max_cost_usd=0.005)
    assert bounded.model in ("tiny", "cheap", "mid")
    assert bounded.estimated_cost_usd is not None and bounded.estimated_cost_usd <= 0.005
    assert "budget" in bounded.rejected["big"]
    with pytest.raises(BudgetExceeded, match="within"):
        Router().route(request, models()[2:], max_cost_usd=0.0001)


def test_feature_tiers_follow_the_markers() -> None:
    router = Router()
    code = router.route(LLMRequest.of("Write a python function that parses a CSV file"),
                        models())
    assert code.tier == "medium" and code.features["code"]
    hard = router.route(LLMRequest.of(
        "Explain step by step how to solve the integral of x^2 * e^x and write the code"),
        models())
    assert hard.tier == "complex" and hard.model == "big"


def test_quality_first_takes_the_most_capable() -> None:
    decision = Router("quality-first").route(LLMRequest.of("hi"), models())
    assert decision.model == "big" and decision.policy == "quality-first"


def test_latency_budget_prefers_a_model_that_answers_in_time() -> None:
    latency = LatencyEstimator()
    latency.observe("big", latency_s=30.0, output_tokens=500)
    latency.observe("mid", latency_s=1.0, output_tokens=500)
    latency.observe("mid-pricey", latency_s=1.0, output_tokens=500)
    request = LLMRequest.of("Prove step by step that sqrt(2) is irrational", max_tokens=500)
    router = Router("latency-budget", policy_params={"max_latency_s": 5.0}, latency=latency)
    decision = router.route(request, models())
    assert decision.model == "mid" and "within 5s" in decision.reason
    relaxed = Router("latency-budget", policy_params={"max_latency_s": 60.0},
                     latency=latency).route(request, models())
    assert relaxed.model == "big"


def test_explicit_override_pins_the_model_or_tier() -> None:
    pinned = Router("explicit", policy_params={"model": "mid-pricey"})
    assert pinned.route(LLMRequest.of("hi"), models()).model == "mid-pricey"
    router = Router()  # any policy: a request naming a model or tier wins
    assert router.route(LLMRequest.of("hi", model="big"), models()).policy == "explicit"
    assert router.route(LLMRequest.of("hi", tier="medium"), models()).model == "mid"
    with pytest.raises(NotFoundError, match="explicitly"):
        router.route(LLMRequest.of("hi", model="nope"), models())
    with pytest.raises(ConfigError, match="needs a model"):
        Router("explicit").route(LLMRequest.of("hi"), models())


def test_unknown_policy_and_tier_are_reported() -> None:
    with pytest.raises(ConfigError, match="cheapest-adequate"):
        Router("fastest-please")
    with pytest.raises(ConfigError, match="bad parameters"):
        create_policy("latency-budget", budget=3)
    odd = ModelInfo("odd", "openai", "o", tier="galaxy-brain")
    with pytest.raises(ConfigError, match="galaxy-brain"):
        Router().route(LLMRequest.of("hi"), [odd])


def test_a_decision_is_a_json_record() -> None:
    decision = Router().route(LLMRequest.of("Write a SQL query: SELECT users FROM t"),
                              models())
    record = json.loads(json.dumps(decision.record()))
    assert record["model"] == decision.model and record["features"]["code"] is True
    assert set(record) >= {"tier", "reason", "policy", "scores", "rejected"}


def _toy_classifier(embedder: EmbeddingService) -> TierClassifier:
    """A classifier whose weak model fails exactly on prompts with code markers."""
    dim = embedder.dim + len(FEATURE_NAMES)
    weights = np.zeros((dim + 1, 2))
    code = embedder.dim + FEATURE_NAMES.index("code")
    weights[code, 0] = -8.0  # weak: P(correct) drops on code
    weights[-1] = [2.0, 2.0]
    refs = (ReferenceModel("weak-ref", "simple", 0.001), ReferenceModel("strong-ref",
                                                                         "complex", 0.01))
    return TierClassifier(embedder.name, refs, weights, np.zeros(dim), np.ones(dim), 0.1)


def test_the_classifier_picks_the_configured_counterpart(embedder: EmbeddingService) -> None:
    # The weak reference is served by "mid-pricey", not by the cheapest simple model.
    router = Router(classifier=_toy_classifier(embedder), embedder=embedder,
                    references={"weak-ref": "mid-pricey", "strong-ref": "big"})
    easy = router.route(LLMRequest.of("What is the capital of France?"), models())
    assert easy.model == "mid-pricey" and "classifier" in easy.reason
    assert set(easy.scores) == {"mid-pricey", "big"}
    code = router.route(LLMRequest.of("def f(x): return x  # fix this function"), models())
    assert code.model == "big"
    # Without the strong reference's model configured, only the weak one can be served.
    assert router.route(LLMRequest.of("def f(x): return x"), models()[:4]).model == \
        "mid-pricey"


def test_classifier_file_round_trip_and_mismatch(embedder: EmbeddingService, tmp_path) -> None:
    classifier = _toy_classifier(embedder)
    loaded = TierClassifier.load(classifier.save(tmp_path / "c.npz"))
    assert loaded.references == classifier.references and loaded.tiers == ["simple", "complex"]
    with pytest.raises(ConfigError, match="retrain"):
        Router(classifier=TierClassifier("other-model", loaded.references, loaded.weights,
                                         loaded.mean, loaded.scale, 0.1), embedder=embedder)
    (tmp_path / "bad.npz").write_bytes(b"not a classifier")
    with pytest.raises(ConfigError, match="aios router train"):
        TierClassifier.load(tmp_path / "bad.npz")


def test_features_mark_code_math_steps_format_and_language() -> None:
    f = extract_features(LLMRequest.of("Calculate 3 + 4 step by step and answer in JSON"))
    assert f.math and f.multi_step and f.output_format == "json" and f.language == "en"
    g = extract_features(LLMRequest.of("Wie spät ist es in Berlin?", max_tokens=50))
    assert g.language == "latin" and g.output_tokens == 50 and not g.code
    h = extract_features(LLMRequest.of("Привет, как дела?"))
    assert h.language == "cyrillic"
    assert extract_features(LLMRequest.of("x", tools=(TOOL,))).tools
