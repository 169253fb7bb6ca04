"""Router and cache plugged into the real model gateway, and built from the manifest spec."""

from __future__ import annotations

import pytest

from aios.embeddings import EmbeddingService
from aios.llm.gateway import Gateway
from aios.llm.types import ModelInfo, Usage
from aios.routing import (
    ResponseCache,
    Router,
    RoutingSpec,
    build_cache,
    build_router,
)
from aios.store import Store
from aios.testing import ScriptedProvider

MODELS = {
    "cheap": ModelInfo("cheap", "openai", "c", tier="simple", context_window=8000,
                       input_price=0.1, output_price=0.4),
    "big": ModelInfo("big", "openai", "b", tier="complex", context_window=100000,
                     input_price=10.0, output_price=30.0),
}


async def test_the_gateway_routes_with_our_router_and_answers_from_our_cache(
        embedder: EmbeddingService) -> None:
    provider = ScriptedProvider(usage=Usage(20, 5), name="openai")  # echoes the prompt
    cache = ResponseCache(None, embedder)
    gateway = Gateway(MODELS, env={}, providers={"cheap": provider, "big": provider},
                      router=Router(), cache=cache)
    try:
        first = await gateway.complete("How do I list the running docker containers?")
        assert first.model == "cheap" and "cheapest-adequate" in (first.route_reason or "")
        again = await gateway.complete("How can I list the running docker containers?")
        assert again.cached and again.text == first.text
        hard = await gateway.complete("Prove step by step that the integral of x^2 is x^3/3")
        assert hard.model == "big"
        assert [model.name for _, _, model in provider.calls] == ["cheap", "big"]
        assert cache.stats().semantic_hits == 1
    finally:
        await gateway.aclose()


async def test_router_and_cache_from_the_manifest_spec(store: Store,
                                                       embedder: EmbeddingService) -> None:
    spec = RoutingSpec.model_validate({
        "policy": "latency-budget", "policy_params": {"max_latency_s": 2},
        "classifier": "none",
        "cache": {"max_entries": 5, "threshold": 0.95,
                  "namespaces": {"acme": {"threshold": 0.5, "sampled": True}}}})
    router = build_router(spec, embedder)
    assert router.policy.name == "latency-budget" and router.classifier is None
    cache = await build_cache(spec, store, embedder)
    assert cache is not None and cache.config.max_entries == 5
    assert cache.config.policy("acme/alice").sampled
    assert cache.config.policy("globex/bob").threshold == 0.95
    packaged = build_router(RoutingSpec(), embedder)
    assert packaged.classifier is not None
    assert await build_cache(RoutingSpec.model_validate({"cache": {"enabled": False}}),
                             store, embedder) is None


def test_the_manifest_rejects_unknown_routing_fields() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        RoutingSpec.model_validate({"cache": {"treshold": 0.9}})
