"""Each configured model's provider, built once: the adapter, its cost, then the wrappers of
one attempt (tracing, time limits, bulkhead, breaker, retry), innermost first.

The composition root builds a `ModelStacks` before anything that needs to reach models by
name — a fallback chain holds it to call its alternatives — and hands it to the `Gateway`,
which adds the wrappers that enclose a whole model (fallback, guardrails). Nothing here knows
the gateway, so there is no construction cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aios.errors import NotFoundError
from aios.llm.costing import CostProvider
from aios.llm.interfaces import Wrapper
from aios.llm.pricing import PriceTable
from aios.llm.provider import Provider
from aios.llm.providers import create_provider
from aios.llm.types import ModelInfo

__all__ = ["ModelStacks"]


class ModelStacks:
    """Builds and keeps each model's wrapped provider (adapters created on first use).

    Args:
        models: configured models by name.
        prices: the price table the cost wrapper charges.
        env: where API keys are read from.
        providers: adapter instances by model name, used instead of creating them
            (in-process providers, tests, benchmarks).
        wrappers: `(provider, model) -> Provider`, applied in order over the costed adapter
            (the last is the outermost).
    """

    def __init__(self, models: Mapping[str, ModelInfo], *, prices: PriceTable,
                 env: Mapping[str, str], providers: Mapping[str, Provider] | None = None,
                 wrappers: Sequence[Wrapper] = ()):
        self.models = dict(models)
        self.prices = prices
        self.env = env
        self.wrappers = list(wrappers)
        self._raw: dict[str, Any] = dict(providers or {})
        self._built: dict[str, Provider] = {}

    def raw(self, model: ModelInfo) -> Any:
        """The adapter serving `model` (created, and its key checked, on first use).

        Raises:
            ConfigError: unknown provider or missing API key (the message names the variable).
        """
        raw = self._raw.get(model.name)
        if raw is None:
            raw = self._raw[model.name] = create_provider(model, self.env)
        return raw

    def provider(self, model: ModelInfo) -> Provider:
        """The wrapped provider serving `model`, built on first use."""
        built = self._built.get(model.name)
        if built is None:
            built = CostProvider(self.raw(model), self.prices)
            for wrap in self.wrappers:
                built = wrap(built, model)
            self._built[model.name] = built
        return built

    def get(self, name: str) -> tuple[Provider, ModelInfo]:
        """The wrapped provider and info of the model called `name` (what fallbacks call).

        Raises:
            NotFoundError: no such model; ConfigError: its adapter cannot be created.
        """
        model = self.models.get(name)
        if model is None:
            raise NotFoundError(f"no model named {name!r} is configured (fallback names are "
                                "keys of the manifest's models:)")
        return self.provider(model), model

    async def aclose(self) -> None:
        """Close the adapters' HTTP clients."""
        for provider in self._raw.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()
