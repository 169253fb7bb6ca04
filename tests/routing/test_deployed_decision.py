"""The deployed router serves what evaluation scores: the classifier's pick, as the
configured model that is that reference, among the models the manifest has."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.types import LLMRequest, ModelInfo
from aios.routing.classifier import TierClassifier
from aios.routing.decision import counterparts, request_inputs
from aios.routing.router import Router
from aios.routing.training import read_routing_data


def _configured(classifier: TierClassifier, names: dict[str, str]) -> list[ModelInfo]:
    """Configured models for some references (reference -> configured name), priced so that
    "the cheapest model of the tier" would often be another model than the pick."""
    by_name = {ref.name: ref for ref in classifier.references}
    return [ModelInfo(name, "openai", f"{name}-id", tier=by_name[ref].tier,
                      context_window=200_000, input_price=by_name[ref].cost * 1e3,
                      output_price=by_name[ref].cost * 1e3)
            for ref, name in names.items()]


@pytest.fixture(scope="module")
def sample(routing_dir: Path) -> list[str]:
    data = read_routing_data(sorted(routing_dir.glob("*.csv")))
    rows = np.random.default_rng(7).choice(len(data), 45, replace=False)
    return [data.prompts[int(i)] for i in rows]


@pytest.mark.parametrize("subset", [None, 3])
def test_route_serves_the_evaluated_pick_on_dev_rows(embedder: EmbeddingService,
                                                     sample: list[str],
                                                     subset: int | None) -> None:
    classifier = TierClassifier.packaged()
    assert classifier is not None
    refs = [ref.name for ref in classifier.references]
    chosen = refs if subset is None else [refs[0], refs[len(refs) // 2], refs[-1]]
    # Configured names differ from the references': the manifest's mapping joins them.
    mapping = {ref: f"my-{i}" for i, ref in enumerate(chosen)}
    models = _configured(classifier, mapping)
    router = Router(classifier=classifier, embedder=embedder, references=mapping)
    # The evaluation path: a batch of rows, the decision function, the allowed references.
    requests = [LLMRequest.of(p) for p in sample]
    serving = counterparts(classifier.references, models, mapping)
    picks = classifier.decide(classifier.standardise(request_inputs(embedder, requests)),
                              [name is not None for name in serving])
    evaluated = [serving[int(i)] for i in picks]
    deployed = [router.route(r, models).model for r in requests]
    assert deployed == evaluated
    # Not a tier proxy: on these rows the pick is not always the cheapest of its tier.
    assert len(set(deployed)) >= 2


def test_the_decision_names_the_reference_and_its_counterpart(embedder: EmbeddingService
                                                              ) -> None:
    classifier = TierClassifier.packaged()
    assert classifier is not None
    models = _configured(classifier, {ref.name: ref.name.rsplit("/", 1)[-1]
                                      for ref in classifier.references})
    decision = Router(classifier=classifier, embedder=embedder).route(
        LLMRequest.of("Write a Python function that returns the n-th Fibonacci number."),
        models)
    assert decision.model in {m.name for m in models}
    assert "reference model" in decision.reason and decision.model in decision.reason
    assert set(decision.scores) == {m.name for m in models}


def test_without_a_counterpart_the_router_says_it_routes_by_features(
        embedder: EmbeddingService, model: ModelInfo) -> None:
    classifier = TierClassifier.packaged()
    assert classifier is not None
    decision = Router(classifier=classifier, embedder=embedder).route(
        LLMRequest.of("hello"), [model])
    assert decision.model == model.name
    assert "no configured model is a reference model" in decision.reason


def test_a_mapping_to_an_unknown_reference_is_refused(embedder: EmbeddingService) -> None:
    classifier = TierClassifier.packaged()
    assert classifier is not None
    with pytest.raises(ConfigError, match="does not know"):
        Router(classifier=classifier, embedder=embedder, references={"gpt-9": "big"})
