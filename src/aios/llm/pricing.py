"""Prices per model and the ONE function that turns `Usage` into dollars.

Where prices come from, per token class: the manifest's `prices:` for that model when given,
else the bundled `genai-prices` table (offline; looked up once per model, by the provider's
genai-prices id, or by the endpoint URL for a custom `base_url`), else nothing is known and the
call is recorded at $0 with `Prices.known` False. The local model is free.

How tokens are priced (see `Usage` for the convention every adapter normalises to):

* uncached input  = input_tokens - cache_read_tokens - cache_write_tokens, at the input price;
* cache reads     at the cache-read price (default: the input price);
* cache writes    at the cache-write price (default: the input price);
* visible output  = output_tokens - reasoning_tokens, at the output price;
* reasoning       at the reasoning price (default: the output price).

Each token is in exactly one class, so nothing is counted twice. Provider conventions the
adapters map from: OpenAI's `prompt_tokens` already include `cached_tokens` and its
`completion_tokens` include `reasoning_tokens`; Anthropic's `input_tokens` exclude
`cache_read_input_tokens` and `cache_creation_input_tokens`, so its adapter adds them.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aios.llm.types import ModelInfo, Usage

__all__ = ["FREE", "PriceTable", "Prices", "Rate", "cost_usd", "usd_text"]

log = logging.getLogger("aios.llm.pricing")

_PER = 1_000_000


@dataclass(frozen=True)
class Rate:
    """USD per million tokens, with "cliff" tiers: past `start` prompt tokens, all tokens pay
    that tier's price (how providers with long-context surcharges bill)."""

    base: float
    tiers: tuple[tuple[int, float], ...] = ()

    def per_million(self, prompt_tokens: int) -> float:
        """The price that applies to a call with `prompt_tokens` prompt tokens."""
        price = self.base
        for start, tier_price in self.tiers:
            if prompt_tokens > start:
                price = tier_price
        return price


@dataclass(frozen=True)
class Prices:
    """A model's prices by token class; None falls back as the module docstring says.

    Attributes:
        source: where they came from: `manifest`, `genai-prices`, `free`, `unknown`, or a
            mix such as `manifest+genai-prices`.
    """

    input: Rate | None = None
    output: Rate | None = None
    cache_read: Rate | None = None
    cache_write: Rate | None = None
    reasoning: Rate | None = None
    source: str = "unknown"

    @property
    def known(self) -> bool:
        """True when the input and output prices are known."""
        return self.input is not None and self.output is not None

    def describe(self) -> dict[str, float | None]:
        """Base USD per million tokens by class, for listings."""
        return {name: (rate.base if rate is not None else None) for name, rate in (
            ("input", self.input), ("output", self.output), ("cache_read", self.cache_read),
            ("cache_write", self.cache_write), ("reasoning", self.reasoning))}


FREE = Prices(Rate(0.0), Rate(0.0), Rate(0.0), Rate(0.0), Rate(0.0), source="free")


def cost_usd(usage: Usage, prices: Prices) -> float:
    """The cost of `usage` at `prices`, in USD: the only place Ai:oS computes a cost.

    Unknown prices cost 0 (the ledger records `Prices.known` via the model listing).
    """
    if prices.input is None or prices.output is None:
        return 0.0
    prompt = usage.input_tokens
    input_rate = prices.input.per_million(prompt)
    output_rate = prices.output.per_million(prompt)
    read_rate = prices.cache_read.per_million(prompt) if prices.cache_read else input_rate
    write_rate = prices.cache_write.per_million(prompt) if prices.cache_write else input_rate
    reason_rate = prices.reasoning.per_million(prompt) if prices.reasoning else output_rate
    uncached = max(prompt - usage.cache_read_tokens - usage.cache_write_tokens, 0)
    visible = max(usage.output_tokens - usage.reasoning_tokens, 0)
    total = (uncached * input_rate + usage.cache_read_tokens * read_rate
             + usage.cache_write_tokens * write_rate + visible * output_rate
             + usage.reasoning_tokens * reason_rate)
    return total / _PER


def _rate(value: Any) -> Rate | None:
    """A genai-prices price (Decimal or TieredPrices) as a `Rate`."""
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return Rate(float(value))
    base = getattr(value, "base", None)
    if base is None:
        return None
    tiers = tuple((int(t.start), float(t.price)) for t in getattr(value, "tiers", ()))
    return Rate(float(base), tiers)


class PriceTable:
    """Resolves and caches `Prices` per configured model (one genai-prices lookup each).

    Args:
        pricing_ids: provider name -> genai-prices provider id (None: free).
        snapshot: a genai-prices `DataSnapshot` (default: the bundled one); passed in so
            tests and callers can pin the table.
    """

    def __init__(self, pricing_ids: dict[str, str | None], snapshot: Any = None):
        self._pricing_ids = pricing_ids
        self._snapshot = snapshot
        self._cache: dict[str, Prices] = {}
        self._context: dict[str, int | None] = {}

    def prices(self, model: ModelInfo) -> Prices:
        """The prices of `model`: manifest overrides over genai-prices (see module doc)."""
        cached = self._cache.get(model.name)
        if cached is not None:
            return cached
        prices = self._resolve(model)
        self._cache[model.name] = prices
        return prices

    def context_window(self, model: ModelInfo) -> int | None:
        """The context window genai-prices knows for `model`, if any."""
        if model.name not in self._context:
            found = self._lookup(model)
            self._context[model.name] = (getattr(found, "context_window", None)
                                         if found is not None else None)
        return self._context[model.name]

    def _lookup(self, model: ModelInfo) -> Any:
        """The genai-prices model entry, or None when it does not know the model."""
        pricing_id = self._pricing_ids.get(model.provider)
        if pricing_id is None:
            return None
        try:
            from genai_prices import data_snapshot
        except ImportError:  # pragma: no cover - a core dependency
            log.warning("genai-prices is not installed; prices are unknown")
            return None
        snapshot = self._snapshot or data_snapshot.get_snapshot()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if model.base_url:
                    try:
                        return snapshot.find_provider_model(model.model_id, None, None,
                                                            model.base_url)[1]
                    except LookupError:
                        pass  # an endpoint genai-prices does not know: try the provider id
                return snapshot.find_provider_model(model.model_id, None, pricing_id, None)[1]
        except LookupError:
            return None

    def _resolve(self, model: ModelInfo) -> Prices:
        overrides = {"input": model.input_price, "output": model.output_price,
                     "cache_read": model.cache_read_price,
                     "cache_write": model.cache_write_price,
                     "reasoning": model.reasoning_price}
        pricing_id = self._pricing_ids.get(model.provider)
        if pricing_id is None and model.provider in self._pricing_ids \
                and all(v is None for v in overrides.values()):
            return FREE
        found: dict[str, Rate | None] = {}
        entry = self._lookup(model) if any(
            overrides[k] is None for k in ("input", "output", "cache_read", "cache_write")
        ) else None
        if entry is not None:
            price = entry.get_prices(datetime.now(UTC))
            found = {"input": _rate(getattr(price, "input_mtok", None)),
                     "output": _rate(getattr(price, "output_mtok", None)),
                     "cache_read": _rate(getattr(price, "cache_read_mtok", None)),
                     "cache_write": _rate(getattr(price, "cache_write_mtok", None))}
        rates = {k: (Rate(float(v)) if v is not None else found.get(k))
                 for k, v in overrides.items()}
        sources = []
        if any(v is not None for v in overrides.values()):
            sources.append("manifest")
        if any(found.get(k) is not None and overrides[k] is None for k in found):
            sources.append("genai-prices")
        return Prices(source="+".join(sources) or "unknown", **rates)


def usd_text(value: float) -> str:
    """A cost as people read it: 4 decimals, more below a tenth of a cent so that a paid call
    never reads as free (`$0.0000048`, not `$0.0000`); `$0` only for nothing at all."""
    if value <= 0:
        return "$0"
    decimals = max(4, 1 - math.floor(math.log10(value)))
    return f"${value:.{decimals}f}"
