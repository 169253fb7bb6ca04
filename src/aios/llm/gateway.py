"""The model gateway: the one door to LLMs.

A call is planned (the model chosen and the call sized), then sent through one stack of
wrappers, each a `Provider` over the one provider interface (`complete`, `stream`), so a
completion and a stream meet the same concerns in the same order. Outermost first::

    ledger         one `llm_calls` row per call: tokens by class, cost, latency, status
    cache          a hit answers here (recorded as cached, costs nothing, reserves nothing)
    budget         reserve the worst case (prompt + output cap); settle the real figures
    output check   JSON / JSON Schema when `response_format` asked for it
    -- per model (built once, `wrappers` and `ModelStacks`) --
    guardrails     prompt checks once per call, outside every retry and fallback
    fallback       the model's stack first, then each fallback model's stack
    retry, breaker, bulkhead, time limits          (each model of a chain has its own)
    LLM span       one per attempt, with the cost of that attempt
    cost           innermost: `cost_usd` set on the answer, at the answering model's prices
    adapter        openai / anthropic / local / ...

The ledger, the cache and the budget belong to one call and are built per call from its
`Plan` (a few small objects); everything per model is built once. The cost is computed once,
on the answer, so the span, the budget, the ledger, the cache and the caller all see the same
figure, charged to the model that answered (a fallback may have switched).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from aios.errors import ConfigError
from aios.llm.accounting import BudgetProvider, LedgerProvider
from aios.llm.budget import BudgetManager
from aios.llm.caching import CacheProvider
from aios.llm.interfaces import ResponseCache, Router, Wrapper
from aios.llm.ledger import CostLedger
from aios.llm.output import JsonOutputChecker, OutputCheckProvider
from aios.llm.pricing import Prices, PriceTable
from aios.llm.provider import Provider
from aios.llm.providers import provider_class, registered_providers
from aios.llm.selection import ModelSelector, Plan, build_request
from aios.llm.stacks import ModelStacks
from aios.llm.types import LLMRequest, LLMResponse, Message, ModelInfo, StreamChunk, evolve
from aios.llm.wrapper import closing

__all__ = ["BoundGateway", "Gateway", "default_price_table"]


def default_price_table() -> PriceTable:
    """genai-prices, with each registered provider's pricing id (manifest prices win)."""
    return PriceTable({name: provider_class(name).pricing_id for name in registered_providers()})


class Gateway:
    """Routes, caches, budgets, calls and costs LLM requests.

    Args:
        models: configured models by name (`aios.llm.config.model_infos`).
        env: where API keys are read from (default: the process environment).
        providers: provider instances by model name, used instead of creating adapters
            (in-process providers, tests, benchmarks); only without `stacks`.
        router: chooses a model when a request names neither a model nor a tier.
        cache: a response cache (`get` before, `put` after).
        wrappers: callables `(provider, model_info) -> Provider`, applied in order (the last
            is the outermost) around each model's stack: around the costed adapter when
            `stacks` is None, else around `stacks` (the composition root puts fallback and
            guardrails here, and the per-attempt wrappers in `stacks`).
        ledger: the cost ledger (None: costs are computed but not stored).
        budgets: the budget manager (None: no budgets; one configuring none still checks the
            budgets of API keys that calls carry).
        prices: the price table (default: genai-prices with manifest overrides).
        stacks: each model's per-attempt stack, built by the composition root (default: one
            built here from `providers` and `wrappers`).
    """

    def __init__(self, models: Mapping[str, ModelInfo], *, env: Mapping[str, str] | None = None,
                 providers: Mapping[str, Provider] | None = None, router: Router | None = None,
                 cache: ResponseCache | None = None, wrappers: Sequence[Wrapper] = (),
                 ledger: CostLedger | None = None, budgets: BudgetManager | None = None,
                 prices: PriceTable | None = None, stacks: ModelStacks | None = None):
        if not models:
            raise ConfigError("the gateway needs at least one model; add one under `models:`")
        if stacks is not None and providers:
            raise ConfigError("pass providers= to the ModelStacks, not to a Gateway given one")
        self.models = dict(models)
        self.env = env if env is not None else os.environ
        self.router = router
        self.cache = cache
        self.ledger = ledger
        self.budgets = budgets
        self.prices = prices or (stacks.prices if stacks is not None else default_price_table())
        if stacks is None:
            stacks = ModelStacks(self.models, prices=self.prices, env=self.env,
                                 providers=providers, wrappers=wrappers)
            wrappers = ()
        self.stacks = stacks
        self.wrappers = list(wrappers)
        self._wrapped: dict[str, Provider] = {}
        self._json = JsonOutputChecker()
        self.selector = ModelSelector(self.models, self.prices, self._count, router)

    # -- configuration views ----------------------------------------------------------------

    def model(self, name: str) -> ModelInfo:
        """The configured model called `name` (NotFoundError lists the configured ones)."""
        return self.selector.model(name)

    async def plan(self, request: LLMRequest) -> Plan:
        """Choose the model and size the call without sending anything (see `ModelSelector`)."""
        return await self.selector.plan(request)

    def prices_of(self, model: ModelInfo) -> Prices:
        """The prices the ledger charges for `model`."""
        return self.prices.prices(model)

    def bind(self, **fields: Any) -> BoundGateway:
        """A facade that stamps `run_id`, `agent`, `action`, `tenant`, `user` on requests."""
        return BoundGateway(self, fields)

    async def aclose(self) -> None:
        """Flush the cost ledger and close the adapters' HTTP clients."""
        if self.ledger is not None:
            await self.ledger.close()
        await self.stacks.aclose()

    # -- the stack ------------------------------------------------------------------------------

    def provider(self, model: ModelInfo) -> Provider:
        """The stack serving `model` below the per-call wrappers (built on first use)."""
        return self._provider(model)

    def _provider(self, model: ModelInfo) -> Provider:
        wrapped = self._wrapped.get(model.name)
        if wrapped is None:
            wrapped = self.stacks.provider(model)
            for wrap in self.wrappers:
                wrapped = wrap(wrapped, model)
            wrapped = self._wrapped[model.name] = OutputCheckProvider(wrapped, self._json)
        return wrapped

    def _call(self, plan: Plan, started: float) -> Provider:
        """The whole stack for one call: ledger, cache and budget over the model's stack."""
        stack = self._provider(plan.model)
        if self.budgets is not None and self.budgets.applies(plan.request):
            stack = BudgetProvider(stack, plan, started, self.budgets)
        if self.cache is not None:
            stack = CacheProvider(stack, self.cache, self.models)
        if self.ledger is not None:
            stack = LedgerProvider(stack, plan, started, self.ledger, self.models)
        return stack

    async def _count(self, model: ModelInfo, request: LLMRequest, estimate: int) -> int:
        counter = getattr(self.stacks.raw(model), "count_tokens", None)
        return int(await counter(request, model)) if counter is not None else estimate

    # -- calls ------------------------------------------------------------------------------

    async def complete(self, request: LLMRequest | str | Sequence[Message],
                       **kwargs: Any) -> LLMResponse:
        """One completion through router, cache, budgets, provider, ledger.

        Args:
            request: an `LLMRequest`, a prompt string, or a sequence of `Message`s.
            **kwargs: `LLMRequest` fields (`model`, `tier`, `max_tokens`, ...) and `system`.

        Raises:
            BudgetExceeded: before anything is sent.
            ProviderError: the provider failed (`TransientProviderError`, ...);
                `InvalidOutput` when JSON was required and the output is not.
            ConfigError, NotFoundError: see `plan`.
        """
        started = time.perf_counter()
        plan = await self.plan(build_request(request, kwargs))
        response = await self._call(plan, started).complete(plan.request, plan.model)
        return evolve(response, latency_s=time.perf_counter() - started,
                      route_reason=plan.reason)

    async def stream(self, request: LLMRequest | str | Sequence[Message],
                     **kwargs: Any) -> AsyncIterator[StreamChunk]:
        """Stream a completion; the last chunk carries usage and the whole `response`.

        Chunks before it carry text, and the pieces of tool calls as the provider streams
        them (`tool_deltas`; the response has the whole calls).

        Same stack and errors as `complete`. A caller that stops early still has the call
        recorded (status `cancelled`, tokens counted from what was produced).
        """
        started = time.perf_counter()
        plan = await self.plan(build_request(request, kwargs))
        ttft: float | None = None
        async with closing(self._call(plan, started).stream(plan.request, plan.model)) as source:
            async for chunk in source:
                if (chunk.text or chunk.tool_deltas) and ttft is None:
                    ttft = time.perf_counter() - started
                if chunk.response is None:
                    if chunk.text or chunk.tool_deltas:
                        yield StreamChunk(text=chunk.text, tool_deltas=chunk.tool_deltas)
                    continue
                response = chunk.response
                response = evolve(response, latency_s=time.perf_counter() - started,
                                  route_reason=plan.reason,
                                  ttft_s=response.ttft_s if response.cached else ttft)
                yield StreamChunk(text=chunk.text, finish_reason=response.finish_reason,
                                  usage=response.usage, response=response,
                                  tool_deltas=chunk.tool_deltas)


class BoundGateway:
    """The gateway with call context stamped on every request (what handlers get as ctx.llm).

    Fields a request sets itself win over the bound ones.
    """

    _FIELDS = frozenset({"run_id", "agent", "action", "tenant", "user"})

    def __init__(self, gateway: Gateway, fields: Mapping[str, Any]):
        unknown = set(fields) - self._FIELDS
        if unknown:
            raise ConfigError(f"bind() takes {', '.join(sorted(self._FIELDS))}; got "
                              f"{', '.join(sorted(unknown))}")
        self.gateway = gateway
        self.fields = {k: v for k, v in fields.items() if v is not None}

    @property
    def models(self) -> dict[str, ModelInfo]:
        """The gateway's configured models."""
        return self.gateway.models

    def bind(self, **fields: Any) -> BoundGateway:
        """A facade with more (or other) fields bound."""
        return BoundGateway(self.gateway, {**self.fields, **fields})

    def _stamp(self, request: LLMRequest | str | Sequence[Message],
               kwargs: Mapping[str, Any]) -> LLMRequest:
        built = build_request(request, kwargs)
        missing = {k: v for k, v in self.fields.items() if getattr(built, k) is None}
        return dataclasses.replace(built, **missing) if missing else built

    async def complete(self, request: LLMRequest | str | Sequence[Message],
                       **kwargs: Any) -> LLMResponse:
        """`Gateway.complete` with the bound fields."""
        return await self.gateway.complete(self._stamp(request, kwargs))

    def stream(self, request: LLMRequest | str | Sequence[Message],
               **kwargs: Any) -> AsyncIterator[StreamChunk]:
        """`Gateway.stream` with the bound fields."""
        return self.gateway.stream(self._stamp(request, kwargs))
