"""Choosing the model for a request and sizing the call, before anything is sent.

Order: an explicit model name; else a tier (the cheapest model of that tier whose context
window fits, the nearest tier when that one has no model); else the router, when there is
one; else the cheapest `simple` model that fits. Capabilities (tools, JSON) filter first. A
prompt is never planned onto a model whose window it does not fit.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NoReturn

from aios.errors import ConfigError, NotFoundError, PermanentProviderError
from aios.llm.config import TIERS
from aios.llm.interfaces import Router
from aios.llm.pricing import Prices, PriceTable
from aios.llm.tokens import estimate_request_tokens
from aios.llm.types import LLMRequest, Message, ModelInfo

__all__ = ["ModelSelector", "Plan", "build_request"]

_UNPRICED = float("inf")

#: Counts the prompt tokens of a request on a model: (model, request, estimate) -> tokens.
Counter = Callable[[ModelInfo, LLMRequest, int], Awaitable[int]]


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the gateway decided before sending: model, why, prompt size, output cap.

    Attributes:
        request: the request to send (its `max_tokens` clamped to what the window leaves).
        model: the chosen model.
        reason: why it was chosen (recorded in the ledger, shown by `aios ask`).
        prompt_tokens: the prompt's tokens on that model (exact where the adapter can count).
        max_tokens: the output the call may use at most (the budget's worst case).
        prices: the model's prices.
    """

    request: LLMRequest
    model: ModelInfo
    reason: str
    prompt_tokens: int
    max_tokens: int
    prices: Prices


def build_request(request: LLMRequest | str | Sequence[Message],
                  kwargs: Mapping[str, Any]) -> LLMRequest:
    """An `LLMRequest` from a prompt, messages or a request, with `kwargs` fields applied.

    Raises:
        ConfigError: `system=` given with a ready-made request.
    """
    fields = dict(kwargs)
    for name in ("stop", "tools"):  # accept lists for convenience; requests are frozen
        if isinstance(fields.get(name), list):
            fields[name] = tuple(fields[name])
    if isinstance(request, LLMRequest):
        if "system" in fields:
            raise ConfigError("system= applies to a prompt string; put the system "
                              "message in the request's messages instead")
        return dataclasses.replace(request, **fields) if fields else request
    if isinstance(request, str):
        return LLMRequest.of(request, **fields)
    system = fields.pop("system", None)
    messages = tuple(request)
    if system:
        messages = (Message("system", system), *messages)
    return LLMRequest(messages=messages, **fields)


def _tier_order(tier: str) -> list[str]:
    """`tier` first, then more capable tiers, then less capable ones."""
    index = TIERS.index(tier)
    return [tier, *TIERS[index + 1:], *reversed(TIERS[:index])]


def _capable(model: ModelInfo, request: LLMRequest) -> bool:
    return (model.supports_tools or not request.tools) and \
        (model.supports_json or request.response_format is None)


def _too_small(models: Sequence[ModelInfo], sizes: Mapping[str, int]) -> NoReturn:
    listed = ", ".join(f"{m.name} (context {m.context_window}, prompt {sizes[m.name]} tokens)"
                       for m in models) or "none configured"
    raise PermanentProviderError(
        f"the prompt does not fit the context window of any candidate model: {listed}; "
        "shorten the prompt or configure a model with a larger context_window",
        model=models[0].model_id if models else None)


class ModelSelector:
    """Plans calls over the configured models (tier lists sorted by price once).

    Args:
        models: configured models by name.
        prices: the price table (orders each tier, cheapest first).
        counter: counts a request's prompt tokens on a model.
        router: consulted when a request names neither a model nor a tier.
    """

    def __init__(self, models: Mapping[str, ModelInfo], prices: PriceTable, counter: Counter,
                 router: Router | None = None):
        self.models = dict(models)
        self.prices = prices
        self.router = router
        self._count = counter
        self._by_tier = {tier: sorted((m for m in self.models.values() if m.tier == tier),
                                      key=self._price_key) for tier in TIERS}

    def _price_key(self, model: ModelInfo) -> tuple[float, str]:
        prices = self.prices.prices(model)
        if prices.input is None or prices.output is None:
            return (_UNPRICED, model.name)  # unknown prices sort last
        return (prices.input.base + prices.output.base, model.name)

    def model(self, name: str) -> ModelInfo:
        """The configured model called `name`.

        Raises:
            NotFoundError: no such model; the message lists the configured ones.
        """
        found = self.models.get(name)
        if found is None:
            raise NotFoundError(f"unknown model {name!r}; configured models: "
                                f"{', '.join(sorted(self.models))} (see `aios models`)")
        return found

    @staticmethod
    def _require_capable(model: ModelInfo, request: LLMRequest) -> None:
        if request.tools and not model.supports_tools:
            raise ConfigError(f"model {model.name!r} does not support tools; pick a model with "
                              f"capabilities.tools (`aios models` lists them)")
        if request.response_format is not None and not model.supports_json:
            raise ConfigError(f"model {model.name!r} does not support JSON output; pick a model "
                              "with capabilities.json (`aios models` lists them)")

    async def _candidates(self, request: LLMRequest, estimate: int
                          ) -> tuple[list[ModelInfo], str]:
        if request.model:
            model = self.model(request.model)
            self._require_capable(model, request)
            return [model], f"model {model.name} requested"
        if request.tier or self.router is None:
            tier = request.tier or "simple"
            if tier not in TIERS:
                raise ConfigError(f"unknown tier {tier!r}; tiers: {', '.join(TIERS)}")
            for candidate_tier in _tier_order(tier):
                pool = [m for m in self._by_tier[candidate_tier] if _capable(m, request)]
                if pool:
                    why = (f"cheapest {tier} model that fits" if candidate_tier == tier else
                           f"no {tier} model configured; cheapest {candidate_tier} model "
                           "that fits")
                    return pool, why if request.tier else f"default tier: {why}"
            raise ConfigError(f"no configured model can serve this request (tools: "
                              f"{bool(request.tools)}, JSON: {request.response_format is not None}"
                              "); add one with those capabilities under `models:`")
        capable = [m for m in self.models.values() if _capable(m, request)]
        pool = [m for m in capable if estimate < m.context_window]
        if not pool:
            _too_small(capable, {m.name: estimate for m in capable})
        decision = self.router.route(request, pool)
        if inspect.isawaitable(decision):
            decision = await decision
        return [self.model(decision.model)], decision.reason

    async def plan(self, request: LLMRequest) -> Plan:
        """Choose the model and size the call, without sending anything.

        Raises:
            NotFoundError: the request names an unknown model.
            ConfigError: unknown tier, missing capability, missing API key.
            PermanentProviderError: the prompt fits no candidate's context window.
        """
        estimate = estimate_request_tokens(request)
        candidates, reason = await self._candidates(request, estimate)
        counted: dict[str, int] = {}
        for model in candidates:
            prompt = await self._count(model, request, estimate)
            counted[model.name] = prompt
            room = model.context_window - prompt
            if room <= 0:
                continue  # never send a prompt to a model too small for it
            cap = request.max_tokens or model.max_output_tokens
            # Without any cap the provider may use what the window leaves: reserve all of it,
            # but do not send it (providers cap output below the window, and refuse more).
            max_tokens = room if cap is None else min(cap, room)
            if cap is not None and max_tokens != request.max_tokens:
                request = dataclasses.replace(request, max_tokens=max_tokens)
            return Plan(request, model, reason, prompt, max_tokens, self.prices.prices(model))
        _too_small(candidates, counted)
