"""The model gateway: the one door to LLMs.

Order of one call::

    choose the model   explicit name > tier > router > cheapest `simple` model that fits
    cache              `cache.get` (a hit costs nothing and skips everything below)
    budget reserve     prompt tokens + output cap at the model's prices; BudgetExceeded
    provider           the adapter wrapped by `wrappers` (reliability, tracing), in order
    output check       JSON / JSON Schema when `response_format` asked for it
    cost ledger        one `llm_calls` row: tokens by class, cost, latency, status
    budget settle      the real figures replace the reservation
    cache put

Everything per call is dictionary look-ups and arithmetic; model lists per tier, prices and
provider instances are resolved once, so the gateway adds microseconds, not milliseconds.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aios.errors import ConfigError, InvalidOutput
from aios.llm.budget import BudgetManager, Reservation
from aios.llm.interfaces import ResponseCache, Router, Wrapper
from aios.llm.ledger import CallRecord, CostLedger
from aios.llm.output import JsonOutputChecker
from aios.llm.pricing import Prices, PriceTable, cost_usd
from aios.llm.provider import Provider
from aios.llm.providers import create_provider, provider_class, registered_providers
from aios.llm.selection import ModelSelector, Plan, build_request
from aios.llm.tokens import estimate_tokens
from aios.llm.types import LLMRequest, LLMResponse, Message, ModelInfo, StreamChunk, Usage

__all__ = ["BoundGateway", "Gateway"]


class Gateway:
    """Routes, caches, budgets, calls and costs LLM requests.

    Args:
        models: configured models by name (`aios.llm.config.model_infos`).
        env: where API keys are read from (default: the process environment).
        providers: provider instances by model name, used instead of creating adapters
            (in-process providers, tests, benchmarks).
        router: chooses a model when a request names neither a model nor a tier.
        cache: a response cache (`get` before, `put` after).
        wrappers: callables `(provider, model_info) -> Provider`, applied in order.
        ledger: the cost ledger (None: costs are computed but not stored).
        budgets: the budget manager (None: no budgets).
        prices: the price table (default: genai-prices with manifest overrides).
    """

    def __init__(self, models: Mapping[str, ModelInfo], *, env: Mapping[str, str] | None = None,
                 providers: Mapping[str, Provider] | None = None, router: Router | None = None,
                 cache: ResponseCache | None = None, wrappers: Sequence[Wrapper] = (),
                 ledger: CostLedger | None = None, budgets: BudgetManager | None = None,
                 prices: PriceTable | None = None):
        if not models:
            raise ConfigError("the gateway needs at least one model; add one under `models:`")
        self.models = dict(models)
        self.env = env if env is not None else os.environ
        self.router = router
        self.cache = cache
        self.wrappers = list(wrappers)
        self.ledger = ledger
        self.budgets = budgets if budgets is not None and budgets.enabled else None
        self.prices = prices or PriceTable(
            {name: provider_class(name).pricing_id for name in registered_providers()})
        self._raw: dict[str, Any] = dict(providers or {})
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
        for provider in self._raw.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()

    # -- providers ------------------------------------------------------------------------------

    def provider(self, model: ModelInfo) -> Provider:
        """The wrapped provider serving `model` (built on first use); fallback chains use it."""
        return self._provider(model)

    def _provider(self, model: ModelInfo) -> Provider:
        wrapped = self._wrapped.get(model.name)
        if wrapped is None:
            raw = self._raw.get(model.name)
            if raw is None:
                raw = self._raw[model.name] = create_provider(model, self.env)
            wrapped = raw
            for wrap in self.wrappers:
                wrapped = wrap(wrapped, model)
            self._wrapped[model.name] = wrapped
        return wrapped

    async def _count(self, model: ModelInfo, request: LLMRequest, estimate: int) -> int:
        raw = self._raw.get(model.name)
        if raw is None:
            self._provider(model)  # creates the adapter (and checks its key) once
            raw = self._raw[model.name]
        counter = getattr(raw, "count_tokens", None)
        return int(await counter(request, model)) if counter is not None else estimate

    # -- bookkeeping ------------------------------------------------------------------------

    async def _reserve(self, plan: Plan) -> Reservation | None:
        if self.budgets is None:
            return None
        worst = Usage(input_tokens=plan.prompt_tokens, output_tokens=plan.max_tokens)
        return await self.budgets.reserve(
            plan.request, tokens=worst.total_tokens, usd=cost_usd(worst, plan.prices),
            detail=f"{plan.prompt_tokens} prompt + {plan.max_tokens} max output tokens on "
                   f"{plan.model.name}")

    def _record(self, plan: Plan, *, status: str, usage: Usage | None = None,
                cost: float = 0.0, latency: float | None = None, ttft: float | None = None,
                cached: bool = False, stream: bool = False, error: str | None = None,
                answered: ModelInfo | None = None) -> None:
        if self.ledger is None:
            return
        model = answered or plan.model
        usage = usage or Usage()
        request = plan.request
        self.ledger.record(CallRecord(
            at=datetime.now(UTC), model=model.name, model_id=model.model_id,
            provider=model.provider, status=status, run_id=request.run_id, agent=request.agent,
            action=request.action, tenant=request.tenant, user=request.user,
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens, counted=usage.counted, cost_usd=cost,
            latency_s=latency, ttft_s=ttft, cached=cached, stream=stream,
            error=error[:2000] if error else None, route_reason=plan.reason))

    def _answered(self, response: LLMResponse, plan: Plan) -> ModelInfo:
        """The model that really answered (a fallback wrapper may have switched)."""
        return self.models.get(response.model, plan.model)

    async def _cached(self, plan: Plan, started: float, stream: bool) -> LLMResponse | None:
        if self.cache is None or not plan.request.cache:
            return None
        hit = await self.cache.get(plan.request, plan.model)
        if hit is None:
            return None
        latency = time.perf_counter() - started
        self._record(plan, status="ok", usage=hit.usage, latency=latency, cached=True,
                     stream=stream, answered=self._answered(hit, plan))
        return dataclasses.replace(hit, cached=True, cost_usd=0.0, latency_s=latency,
                                   route_reason=plan.reason)

    def _check_output(self, plan: Plan, response: LLMResponse
                      ) -> tuple[LLMResponse, InvalidOutput | None]:
        if plan.request.response_format is None:
            return response, None
        text, error = self._json.check(response.text, plan.request.response_format,
                                       provider=response.provider, model=response.model)
        return (dataclasses.replace(response, text=text) if text != response.text
                else response), error

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
        hit = await self._cached(plan, started, stream=False)
        if hit is not None:
            return hit
        reservation = await self._reserve(plan)
        provider = self._provider(plan.model)
        try:
            response = await provider.complete(plan.request, plan.model)
        except BaseException as exc:  # recorded and released, then re-raised as it is
            failed = isinstance(exc, Exception)  # not a cancellation
            self._record(plan, status="error" if failed else "cancelled",
                         latency=time.perf_counter() - started,
                         error=f"{type(exc).__name__}: {exc}" if failed else None)
            if self.budgets is not None:
                self.budgets.release(reservation)
            raise
        latency = time.perf_counter() - started
        answered = self._answered(response, plan)
        cost = cost_usd(response.usage, self.prices.prices(answered))
        response, invalid = self._check_output(plan, response)
        self._record(plan, status="invalid" if invalid else "ok", usage=response.usage,
                     cost=cost, latency=latency, answered=answered,
                     error=str(invalid) if invalid else None)
        if self.budgets is not None:
            self.budgets.settle(reservation, tokens=response.usage.total_tokens, usd=cost)
        if invalid is not None:
            raise invalid
        response = dataclasses.replace(response, cost_usd=cost, latency_s=latency,
                                       route_reason=plan.reason, cached=False)
        if self.cache is not None and plan.request.cache:
            await self.cache.put(plan.request, answered, response)
        return response

    async def stream(self, request: LLMRequest | str | Sequence[Message],
                     **kwargs: Any) -> AsyncIterator[StreamChunk]:
        """Stream a completion; the last chunk carries usage and the whole `response`.

        Same order and errors as `complete`. A caller that stops early still has the call
        recorded (status `cancelled`, tokens counted from what was produced).
        """
        started = time.perf_counter()
        plan = await self.plan(build_request(request, kwargs))
        hit = await self._cached(plan, started, stream=True)
        if hit is not None:
            yield StreamChunk(text=hit.text, tool_calls=hit.tool_calls,
                              finish_reason=hit.finish_reason, usage=hit.usage, response=hit)
            return
        reservation = await self._reserve(plan)
        provider = self._provider(plan.model)
        pieces: list[str] = []
        calls: tuple[Any, ...] = ()
        finish: str | None = None
        usage: Usage | None = None
        ttft: float | None = None
        status, error = "cancelled", None
        response: LLMResponse | None = None
        invalid: InvalidOutput | None = None
        try:
            if plan.model.supports_streaming:
                async for chunk in provider.stream(plan.request, plan.model):
                    usage = chunk.usage or usage
                    finish = chunk.finish_reason or finish
                    calls = chunk.tool_calls or calls
                    if chunk.text:
                        if ttft is None:
                            ttft = time.perf_counter() - started
                        pieces.append(chunk.text)
                        yield StreamChunk(text=chunk.text)
            else:  # the model cannot stream: one chunk with the whole answer
                whole = await provider.complete(plan.request, plan.model)
                ttft = time.perf_counter() - started
                usage, finish, calls = whole.usage, whole.finish_reason, whole.tool_calls
                pieces.append(whole.text)
                yield StreamChunk(text=whole.text)
            usage = usage or Usage(input_tokens=plan.prompt_tokens,
                                   output_tokens=estimate_tokens("".join(pieces)), counted=True)
            response = LLMResponse(text="".join(pieces), model=plan.model.name,
                                   provider=plan.model.provider, usage=usage, tool_calls=calls,
                                   finish_reason=finish, ttft_s=ttft,
                                   route_reason=plan.reason)
            response, invalid = self._check_output(plan, response)
            status = "invalid" if invalid else "ok"
            error = str(invalid) if invalid else None
        except Exception as exc:  # a cancellation or an early close stays "cancelled"
            status, error = "error", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            # Runs on success, failure and early close alike; nothing here awaits.
            latency = time.perf_counter() - started
            if usage is None and pieces:
                usage = Usage(input_tokens=plan.prompt_tokens,
                              output_tokens=estimate_tokens("".join(pieces)), counted=True)
            cost = cost_usd(usage, plan.prices) if usage is not None else 0.0
            self._record(plan, status=status, usage=usage, cost=cost, latency=latency,
                         ttft=ttft, stream=True, error=error)
            if self.budgets is not None:
                self.budgets.settle(reservation, tokens=usage.total_tokens if usage else 0,
                                    usd=cost)
        if invalid is not None:
            raise invalid
        assert response is not None
        response = dataclasses.replace(response, cost_usd=cost, latency_s=latency)
        if self.cache is not None and plan.request.cache:
            await self.cache.put(plan.request, plan.model, response)
        yield StreamChunk(finish_reason=finish, usage=usage, response=response)


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
