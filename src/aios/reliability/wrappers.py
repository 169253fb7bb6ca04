"""Provider wrappers: retry, circuit breaker, bulkhead, time limits and model fallback.

Each factory returns a `Wrapper`, a callable `(provider, model) -> Provider` that the gateway
applies around each model's provider; each wrapper implements the same `Provider` protocol it
wraps, so they compose in any order. `reliability_wrappers` returns the full set in the order
they are meant to nest (innermost first): time limits, bulkhead, breaker, retry, fallback.
Each alternative of a fallback chain therefore has its own retries and its own breaker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from functools import partial
from typing import Any, Protocol, TypeAlias

from aios.errors import CircuitOpen, TransientProviderError
from aios.llm.provider import Provider
from aios.llm.tokens import estimate_request_tokens
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk
from aios.llm.wrapper import WrapperProvider
from aios.reliability.bulkheads import Bulkhead, Bulkheads
from aios.reliability.circuit import BreakerRegistry, CircuitBreaker
from aios.reliability.classify import Classifier, describe
from aios.reliability.clock import Clock, SystemClock, within
from aios.reliability.events import Emitter, ReliabilityListener
from aios.reliability.fallback import Alternative, Fallback
from aios.reliability.policy import DEFAULT_MODEL_POLICY, ReliabilityPolicy, policy_for
from aios.reliability.retry import Retrier
from aios.reliability.streams import guard_stream, has_content, prime, relay

__all__ = [
    "BreakerProvider",
    "BulkheadProvider",
    "FallbackProvider",
    "ModelFallback",
    "ModelLookup",
    "Policies",
    "RetryingProvider",
    "TimeLimitedProvider",
    "Wrapper",
    "attempt_wrappers",
    "breaker",
    "bulkhead",
    "call_timeout",
    "model_target",
    "reliability_wrappers",
    "retrying",
    "stream_timeouts",
    "timeouts",
    "unfit_reason",
]

#: What the gateway applies around each model's provider.
Wrapper: TypeAlias = Callable[[Provider, ModelInfo], Provider]
#: One policy for every model, or the manifest's `reliability:` table (model name -> policy).
Policies: TypeAlias = ReliabilityPolicy | Mapping[str, ReliabilityPolicy] | None


def model_target(provider: Provider | str, model: ModelInfo) -> str:
    """`model:provider/name`, the name of a model's breaker and retry target."""
    name = provider if isinstance(provider, str) else provider.name
    return f"model:{name}/{model.name}"


def _policy(policies: Policies, model: ModelInfo,
            default: ReliabilityPolicy | None) -> ReliabilityPolicy | None:
    if isinstance(policies, ReliabilityPolicy):
        return policies
    return policy_for(model.name, policies or {}, default=default)


class RetryingProvider(WrapperProvider):
    """Retries transient failures of `complete`, and of `stream` up to its first token."""

    def __init__(self, inner: Provider, retrier: Retrier):
        super().__init__(inner)
        self.retrier = retrier

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """`inner.complete`, retried."""
        inner = self.inner
        return await self.retrier.call(lambda _attempt: inner.complete(request, model))

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """`inner.stream`, re-issued while it fails before its first token."""
        inner = self.inner
        primed = await self.retrier.call(lambda _attempt: prime(inner.stream(request, model)))
        async for chunk in relay(primed, provider=self.name, model=model.name):
            yield chunk


class BreakerProvider(WrapperProvider):
    """Fails fast with `CircuitOpen` while the model's breaker is open."""

    def __init__(self, inner: Provider, breaker: CircuitBreaker):
        super().__init__(inner)
        self.breaker = breaker

    def _admit(self, model: ModelInfo) -> None:
        wait = self.breaker.before_call()
        if wait is not None:
            raise CircuitOpen(
                f"{self.name} model {model.name}: {self.breaker.rejection(wait)}. Configure "
                "a fallback model (reliability.fallback) or see `aios breakers`",
                breaker=self.breaker.name, retry_in=wait, provider=self.name, model=model.name)

    def _failed(self, exc: BaseException) -> None:
        if Classifier.counts_against_breaker(exc):
            self.breaker.on_failure(describe(exc))
        else:
            self.breaker.on_ignored()

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """`inner.complete` unless the breaker is open."""
        self._admit(model)
        try:
            response = await self.inner.complete(request, model)
        except BaseException as exc:
            self._failed(exc)
            raise
        self.breaker.on_success()
        return response

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """`inner.stream` unless the breaker is open; a stream counts when it ends."""
        self._admit(model)
        answered = False
        try:
            async for chunk in self.inner.stream(request, model):
                answered = answered or has_content(chunk)
                yield chunk
        except GeneratorExit:  # the caller stopped reading: healthy if it got an answer
            if answered:
                self.breaker.on_success()
            else:
                self.breaker.on_ignored()
            raise
        except BaseException as exc:
            self._failed(exc)
            raise
        self.breaker.on_success()


class BulkheadProvider(WrapperProvider):
    """Holds a slot of a shared `Bulkhead` for each call (for the whole of a stream)."""

    def __init__(self, inner: Provider, slots: Bulkhead):
        super().__init__(inner)
        self.slots = slots

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """`inner.complete` within a slot."""
        async with self.slots:
            return await self.inner.complete(request, model)

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """`inner.stream` within a slot."""
        async with self.slots:
            async for chunk in self.inner.stream(request, model):
                yield chunk


class TimeLimitedProvider(WrapperProvider):
    """Turns a call or stream that takes too long into a `TransientProviderError`."""

    def __init__(self, inner: Provider, *, timeout_s: float | None, ttft_s: float | None,
                 idle_s: float | None):
        super().__init__(inner)
        self.timeout_s = timeout_s
        self.ttft_s = ttft_s
        self.idle_s = idle_s

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """`inner.complete` within `timeout_s`."""
        if self.timeout_s is None:
            return await self.inner.complete(request, model)
        return await within(self.timeout_s, self.inner.complete(request, model),
                            lambda: TransientProviderError(
                                f"{self.name} model {model.name} did not answer within "
                                f"{self.timeout_s:g} s (reliability timeout_s)",
                                provider=self.name, model=model.name))

    def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """`inner.stream` with a time-to-first-token and an idle limit."""
        return guard_stream(self.inner.stream(request, model), ttft_s=self.ttft_s,
                            idle_s=self.idle_s, provider=self.name, model=model.name)


def unfit_reason(request: LLMRequest, model: ModelInfo, *, streaming: bool,
                 count_tokens: Callable[[LLMRequest], int] = estimate_request_tokens
                 ) -> str | None:
    """Why `model` cannot serve `request` (None when it can): capabilities are data."""
    if request.tools and not model.supports_tools:
        return "it does not support tools"
    if request.response_format is not None and not model.supports_json:
        return "it does not support JSON output"
    if streaming and not model.supports_streaming:
        return "it does not stream"
    if request.max_tokens and model.max_output_tokens and \
            request.max_tokens > model.max_output_tokens:
        return (f"max_tokens {request.max_tokens} exceeds its max_output_tokens "
                f"{model.max_output_tokens}")
    needed = count_tokens(request) + (request.max_tokens or 0)
    if needed > model.context_window:
        return f"its context window ({model.context_window} tokens) is smaller than the " \
               f"{needed} tokens this call needs"
    return None


class ModelLookup(Protocol):
    """Each model's stack by name (`aios.llm.stacks.ModelStacks`)."""

    def get(self, name: str) -> tuple[Provider, ModelInfo]:
        """The provider and info of the model called `name`; raises when there is none."""
        ...


class ModelFallback:
    """A wrapper factory that falls back from a model to the models its policy names.

    The chain holds its models: `models` gives each model's stack below the fallback (the
    composition root builds it first, so nothing here reaches back into the gateway). Without
    `models`, it records each model's provider as it wraps it, and `resolve` builds the
    others on first use.

    Args:
        policies: the manifest's `reliability:` table, or one policy for all models.
        default: the policy of a model the table does not name.
        models: the models' stacks by name; a lookup that raises (unknown model, missing
            API key) skips that fallback with the error as the reason.
        resolve: without `models`: asks the gateway to build the model called `name`
            (building it passes it through this factory, which records it).
        count_tokens: prompt size estimate, for the context-window check.
        emit: receives `FallbackUsed` / `FallbackSkipped` events.
    """

    def __init__(self, policies: Policies = None, *,
                 default: ReliabilityPolicy | None = DEFAULT_MODEL_POLICY,
                 models: ModelLookup | None = None,
                 resolve: Callable[[str], object] | None = None,
                 count_tokens: Callable[[LLMRequest], int] = estimate_request_tokens,
                 emit: Emitter | None = None):
        self.policies = policies
        self.default = default
        self.models = models
        self.resolve = resolve
        self.count_tokens = count_tokens
        self.emit = emit or Emitter()
        self._models: dict[str, tuple[Provider, ModelInfo]] = {}

    def __call__(self, provider: Provider, model: ModelInfo) -> Provider:
        if self.models is None:
            self._models[model.name] = (provider, model)
        policy = _policy(self.policies, model, self.default)
        if policy is None or not policy.fallback:
            return provider
        return FallbackProvider(provider, self, policy)

    def lookup(self, name: str) -> tuple[Provider, ModelInfo] | str:
        """The provider (wrapped by the wrappers inside this one) and info of the model
        called `name`, or why there is none."""
        if self.models is not None:
            try:
                return self.models.get(name)
            except Exception as exc:  # unknown model, missing key ...: skipped with the reason
                return describe(exc)
        found = self._models.get(name)
        if found is None and self.resolve is not None:
            try:
                self.resolve(name)
            except Exception as exc:  # the gateway says why: unknown model, missing key ...
                return describe(exc)
            found = self._models.get(name)
        if found is None:
            return (f"no model named {name!r} is configured (fallback names are keys of the "
                    "manifest's models:)")
        return found


class FallbackProvider(WrapperProvider):
    """The model's provider first, then each fallback model that can serve the call."""

    def __init__(self, inner: Provider, chain: ModelFallback, policy: ReliabilityPolicy):
        super().__init__(inner)
        self.chain = chain
        self.policy = policy
        self.classifier = Classifier.of(policy.retry.retry_on, policy.fallback_on)

    def _alternatives(self, request: LLMRequest, model: ModelInfo, *,
                      streaming: bool) -> list[Alternative[Any]]:
        def call(provider: Provider, info: ModelInfo) -> Any:
            if streaming:
                return prime(provider.stream(request, info))
            return provider.complete(request, info)

        alternatives: list[Alternative[Any]] = [
            Alternative(f"{model.name} ({self.name})", partial(call, self.inner, model))]
        for name in self.policy.fallback:
            if name == model.name:
                continue
            found = self.chain.lookup(name)
            if isinstance(found, str):
                alternatives.append(Alternative(name, partial(call, self.inner, model),
                                                skip=found))
                continue
            provider, info = found
            alternatives.append(Alternative(
                f"{info.name} ({provider.name})", partial(call, provider, info),
                skip=unfit_reason(request, info, streaming=streaming,
                                  count_tokens=self.chain.count_tokens)))
        return alternatives

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """The first answer of the chain."""
        fallback: Fallback[LLMResponse] = Fallback(model_target(self, model), self.classifier,
                                                   self.chain.emit)
        return await fallback.run(self._alternatives(request, model, streaming=False))

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """The first stream of the chain that produces a token."""
        fallback: Fallback[AsyncIterator[StreamChunk]] = Fallback(
            model_target(self, model), self.classifier, self.chain.emit)
        primed = await fallback.run(self._alternatives(request, model, streaming=True))
        async for chunk in relay(primed, provider=self.name, model=model.name):
            yield chunk


# -- factories -------------------------------------------------------------------------------


def retrying(policies: Policies = None, *,
             default: ReliabilityPolicy | None = DEFAULT_MODEL_POLICY,
             clock: Clock | None = None, emit: Emitter | None = None,
             listeners: Iterable[ReliabilityListener] = ()) -> Wrapper:
    """Retry transient failures with each model's `retry` policy."""
    clock = clock or SystemClock()
    emit = emit or Emitter(listeners)

    def wrap(provider: Provider, model: ModelInfo) -> Provider:
        policy = _policy(policies, model, default)
        if policy is None or policy.retry.attempts <= 1:
            return provider
        retrier = Retrier(model_target(provider, model), policy.retry, clock=clock, emit=emit)
        return RetryingProvider(provider, retrier)

    return wrap


def breaker(registry: BreakerRegistry, policies: Policies = None, *,
            default: ReliabilityPolicy | None = DEFAULT_MODEL_POLICY) -> Wrapper:
    """A circuit breaker per provider/model, from `registry` (shared through its store)."""

    def wrap(provider: Provider, model: ModelInfo) -> Provider:
        policy = _policy(policies, model, default)
        if policy is None or policy.breaker is None:
            return provider
        return BreakerProvider(provider, registry.get(model_target(provider, model),
                                                      policy.breaker))

    return wrap


def bulkhead(limit: int | None = None, policies: Policies = None, *,
             default: ReliabilityPolicy | None = DEFAULT_MODEL_POLICY,
             pool: Bulkheads | None = None) -> Wrapper:
    """At most `limit` calls in flight per provider (else each policy's `max_concurrency`).

    Every model of the same provider shares one bulkhead.
    """
    pool = pool or Bulkheads()

    def wrap(provider: Provider, model: ModelInfo) -> Provider:
        size = limit
        if size is None:
            policy = _policy(policies, model, default)
            size = policy.max_concurrency if policy is not None else None
        if size is None:
            return provider
        return BulkheadProvider(provider, pool.get(f"provider:{provider.name}", size))

    return wrap


def stream_timeouts(ttft_s: float | None, idle_s: float | None) -> Wrapper:
    """Fail a stream that sends no first token within `ttft_s` or stalls for `idle_s`."""

    def wrap(provider: Provider, model: ModelInfo) -> Provider:
        return TimeLimitedProvider(provider, timeout_s=None, ttft_s=ttft_s, idle_s=idle_s)

    return wrap


def call_timeout(seconds: float) -> Wrapper:
    """Fail a `complete` call that takes longer than `seconds`."""

    def wrap(provider: Provider, model: ModelInfo) -> Provider:
        return TimeLimitedProvider(provider, timeout_s=seconds, ttft_s=None, idle_s=None)

    return wrap


def timeouts(policies: Policies = None, *,
             default: ReliabilityPolicy | None = DEFAULT_MODEL_POLICY) -> Wrapper:
    """Each model's `timeout_s` and `stream` limits (ttft defaults to `timeout_s`)."""

    def wrap(provider: Provider, model: ModelInfo) -> Provider:
        policy = _policy(policies, model, default)
        if policy is None:
            return provider
        ttft = policy.stream.ttft_s or policy.timeout_s
        if policy.timeout_s is None and ttft is None and policy.stream.idle_s is None:
            return provider
        return TimeLimitedProvider(provider, timeout_s=policy.timeout_s, ttft_s=ttft,
                                   idle_s=policy.stream.idle_s)

    return wrap


def attempt_wrappers(policies: Policies = None, *,
                     default: ReliabilityPolicy | None = DEFAULT_MODEL_POLICY,
                     breakers: BreakerRegistry | None = None, clock: Clock | None = None,
                     listeners: Iterable[ReliabilityListener] = ()) -> list[Wrapper]:
    """The reliability wrappers of one model, innermost first: time limits -> bulkhead ->
    circuit breaker -> retry (a retry re-checks the breaker on every attempt)."""
    clock = clock or SystemClock()
    emit = Emitter(listeners)
    registry = breakers or BreakerRegistry(clock=clock, emit=emit)
    return [
        timeouts(policies, default=default),
        bulkhead(None, policies, default=default),
        breaker(registry, policies, default=default),
        retrying(policies, default=default, clock=clock, emit=emit),
    ]


def reliability_wrappers(policies: Policies = None, *,
                         default: ReliabilityPolicy | None = DEFAULT_MODEL_POLICY,
                         breakers: BreakerRegistry | None = None, clock: Clock | None = None,
                         listeners: Iterable[ReliabilityListener] = (),
                         resolve: Callable[[str], object] | None = None,
                         count_tokens: Callable[[LLMRequest], int] = estimate_request_tokens,
                         models: ModelLookup | None = None) -> list[Wrapper]:
    """Every reliability wrapper for the gateway, innermost first.

    `attempt_wrappers`, then fallback: an open breaker skips straight to the next model of
    the chain, and each model of the chain has its own retries and breaker.
    """
    listeners = list(listeners)
    return [
        *attempt_wrappers(policies, default=default, breakers=breakers, clock=clock,
                          listeners=listeners),
        ModelFallback(policies, default=default, models=models, resolve=resolve,
                      count_tokens=count_tokens, emit=Emitter(listeners)),
    ]
