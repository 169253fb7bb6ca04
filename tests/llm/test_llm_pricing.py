"""The one cost function: token classes priced once each, genai-prices and manifest prices."""

from __future__ import annotations

import warnings

import pytest
from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price

from aios.llm import FREE, ModelInfo, Prices, PriceTable, Rate, Usage, cost_usd
from aios.llm.providers import provider_class, registered_providers


def table() -> PriceTable:
    return PriceTable({name: provider_class(name).pricing_id for name in registered_providers()})


def genai_cost(usage: Usage, model_id: str, provider: str) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(calc_price(GenaiUsage(
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens), model_ref=model_id,
            provider_id=provider).total_price)


def test_plain_tokens_cost_input_plus_output():
    prices = Prices(Rate(2.0), Rate(8.0))
    assert cost_usd(Usage(1_000_000, 500_000), prices) == pytest.approx(2.0 + 4.0)


def test_each_token_class_is_priced_once():
    prices = Prices(input=Rate(3.0), output=Rate(15.0), cache_read=Rate(0.3),
                    cache_write=Rate(3.75), reasoning=Rate(20.0))
    usage = Usage(input_tokens=1000, output_tokens=400, cache_read_tokens=600,
                  cache_write_tokens=100, reasoning_tokens=150)
    expected = (300 * 3.0 + 600 * 0.3 + 100 * 3.75 + 250 * 15.0 + 150 * 20.0) / 1e6
    assert cost_usd(usage, prices) == pytest.approx(expected)


def test_reasoning_defaults_to_the_output_price():
    prices = Prices(Rate(1.0), Rate(10.0))
    with_reasoning = Usage(input_tokens=0, output_tokens=100, reasoning_tokens=80)
    assert cost_usd(with_reasoning, prices) == pytest.approx(100 * 10.0 / 1e6)


def test_cliff_tiers_apply_to_all_tokens_past_the_threshold():
    rate = Rate(1.25, tiers=((200_000, 2.5),))
    assert rate.per_million(200_000) == 1.25
    assert rate.per_million(200_001) == 2.5
    prices = Prices(rate, Rate(10.0))
    assert cost_usd(Usage(300_000, 0), prices) == pytest.approx(300_000 * 2.5 / 1e6)


@pytest.mark.parametrize(("provider", "model_id", "usage"), [
    ("openai", "gpt-4o", Usage(input_tokens=5000, output_tokens=700, cache_read_tokens=3000)),
    ("anthropic", "claude-sonnet-4-20250514",
     Usage(input_tokens=4740, output_tokens=255, cache_read_tokens=1200,
           cache_write_tokens=3000)),
])
def test_matches_genai_prices_for_cached_tokens(provider, model_id, usage):
    model = ModelInfo(name="m", provider=provider, model_id=model_id)
    prices = table().prices(model)
    assert prices.source == "genai-prices" and prices.known
    assert cost_usd(usage, prices) == pytest.approx(genai_cost(usage, model_id, provider))


def test_manifest_prices_override_genai_prices_per_class():
    model = ModelInfo(name="m", provider="openai", model_id="gpt-4o", input_price=1.0)
    prices = table().prices(model)
    assert prices.input == Rate(1.0)
    assert prices.output is not None and prices.output.base == 10.0  # from genai-prices
    assert prices.source == "manifest+genai-prices"


def test_local_model_is_free_and_unknown_models_cost_nothing():
    assert table().prices(ModelInfo(name="l", provider="local", model_id="x")) == FREE
    unknown = table().prices(ModelInfo(name="u", provider="openai", model_id="no-such-model",
                                       base_url="http://127.0.0.1:9/v1"))
    assert not unknown.known and unknown.source == "unknown"
    assert cost_usd(Usage(1000, 1000), unknown) == 0.0


def test_context_window_comes_from_genai_prices_when_known():
    model = ModelInfo(name="m", provider="openai", model_id="gpt-4o")
    assert table().context_window(model) == 128000
