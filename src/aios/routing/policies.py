"""Routing policies, registered by name: how a tier prediction becomes one model.

Every policy receives a `RoutingContext` whose candidates already fit the request (context
window, tools, JSON, budget) and returns a `Choice`. Policies only compare capabilities,
tiers, prices and latency estimates, never provider names.

| name | picks |
|---|---|
| `cheapest-adequate` (default) | the configured model the classifier picks (else: by features) |
| `quality-first` | the most capable model that fits (highest tier, then highest price) |
| `latency-budget` | the adequate tier within `max_latency_s`, else the best model within it |
| `explicit` | a pinned `model` (or the request's `model` / `tier`) |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aios.errors import ConfigError, NotFoundError
from aios.llm.types import LLMRequest, ModelInfo
from aios.registry import Registry
from aios.routing.features import RequestFeatures
from aios.routing.latency import LatencyEstimator

__all__ = [
    "Candidate",
    "CheapestAdequate",
    "Choice",
    "Explicit",
    "LatencyBudget",
    "Policy",
    "QualityFirst",
    "RoutingContext",
    "TierPrediction",
    "create_policy",
    "policy_names",
    "register_policy",
]


@dataclass(frozen=True)
class Candidate:
    """A model that fits the request, with its tier rank and estimated cost (None: unpriced)."""

    model: ModelInfo
    rank: int
    cost_usd: float | None

    @property
    def cost_key(self) -> tuple[float, str]:
        """Sort key: cheapest first, unpriced models last, then by name."""
        return (float("inf") if self.cost_usd is None else self.cost_usd, self.model.name)


@dataclass(frozen=True)
class TierPrediction:
    """Which tier suffices, with the evidence.

    Attributes:
        tier: the predicted tier.
        scores: per tier, the classifier's best P(correct) (or the feature points).
        source: `classifier` or `features`.
        detail: a short human explanation.
        model: the configured model the classifier picked (None: only a tier is known).
    """

    tier: str
    scores: Mapping[str, float]
    source: str
    detail: str
    model: str | None = None


@dataclass
class RoutingContext:
    """What a policy decides on. `prediction()` runs the classifier lazily, once."""

    request: LLMRequest
    features: RequestFeatures
    candidates: list[Candidate]
    tiers: tuple[str, ...]
    predict: Callable[[RoutingContext], TierPrediction]
    latency: LatencyEstimator
    _prediction: TierPrediction | None = field(default=None, repr=False)

    def prediction(self) -> TierPrediction:
        """The tier prediction (computed on first use)."""
        if self._prediction is None:
            self._prediction = self.predict(self)
        return self._prediction

    def available_tiers(self) -> list[str]:
        """Tiers that have at least one candidate, cheapest tier first."""
        present = {c.model.tier for c in self.candidates}
        return [tier for tier in self.tiers if tier in present]

    def in_tier(self, tier: str) -> list[Candidate]:
        """Candidates of `tier`, cheapest first."""
        return sorted((c for c in self.candidates if c.model.tier == tier),
                      key=lambda c: c.cost_key)

    def tier_order(self, tier: str) -> list[str]:
        """`tier`, then more capable tiers, then less capable ones (nearest first)."""
        index = self.tiers.index(tier)
        return [tier, *self.tiers[index + 1:], *reversed(self.tiers[:index])]


@dataclass(frozen=True)
class Choice:
    """A policy's answer: the candidate, the tier it served, and why."""

    candidate: Candidate
    tier: str
    reason: str


class Policy(Protocol):
    """Chooses one candidate."""

    name: str

    def choose(self, ctx: RoutingContext) -> Choice:
        """The chosen candidate (the context always has at least one)."""
        ...


_POLICIES: Registry[Callable[..., Policy]] = Registry("routing policy", known="known policies")


def register_policy(name: str) -> Callable[[Callable[..., Policy]], Callable[..., Policy]]:
    """Class decorator: make a policy available by `name` (parameters are its init args)."""

    return _POLICIES.register(name)


def policy_names() -> list[str]:
    """Registered policy names."""
    return _POLICIES.names()


def create_policy(name: str, **params: Any) -> Policy:
    """The policy registered as `name`, built with `params`.

    Raises:
        ConfigError: unknown name or bad parameters.
    """
    factory = _POLICIES.get(name)
    try:
        return factory(**params)
    except TypeError as exc:
        raise ConfigError(f"bad parameters for routing policy {name!r}: {exc}") from exc


def _cost(c: Candidate) -> str:
    return "unpriced" if c.cost_usd is None else f"~${c.cost_usd:.6f}"


def _serve_tier(ctx: RoutingContext, wanted: str) -> Choice:
    """The cheapest candidate of `wanted`, else of the nearest tier that has one."""
    for tier in ctx.tier_order(wanted):
        pool = ctx.in_tier(tier)
        if pool:
            best = pool[0]
            if tier == wanted:
                why = f"cheapest {tier} model that fits: {best.model.name} ({_cost(best)})"
            else:
                why = (f"no {wanted} model fits; nearest tier {tier}: {best.model.name} "
                       f"({_cost(best)})")
            return Choice(best, tier, why)
    raise NotFoundError("no candidate model")  # unreachable: the router checks first


@register_policy("cheapest-adequate")
class CheapestAdequate:
    """The classifier's pick, served as measured; else the cheapest model of the tier the
    features suggest."""

    name = "cheapest-adequate"

    def choose(self, ctx: RoutingContext) -> Choice:
        """The model the prediction names, else the cheapest fitting model of its tier."""
        prediction = ctx.prediction()
        picked = next((c for c in ctx.candidates if c.model.name == prediction.model), None)
        if picked is not None:
            return Choice(picked, picked.model.tier,
                          f"{prediction.detail}; {_cost(picked)}")
        choice = _serve_tier(ctx, prediction.tier)
        return Choice(choice.candidate, choice.tier,
                      f"{prediction.detail}; {choice.reason}")


@register_policy("quality-first")
class QualityFirst:
    """The most capable model that fits: highest tier, then highest price (a quality proxy),
    then largest context window."""

    name = "quality-first"

    def choose(self, ctx: RoutingContext) -> Choice:
        """The top candidate by tier, price and context."""
        best = max(ctx.candidates, key=lambda c: (
            c.rank, -1.0 if c.cost_usd is None else c.cost_usd, c.model.context_window))
        return Choice(best, best.model.tier,
                      f"most capable fitting model {best.model.name} "
                      f"(tier {best.model.tier}, {_cost(best)})")


@register_policy("latency-budget")
class LatencyBudget:
    """The adequate tier if a model of it answers within `max_latency_s`, else the most
    capable model that does, else the fastest.

    Args:
        max_latency_s: the latency budget of one call, in seconds.
    """

    name = "latency-budget"

    def __init__(self, max_latency_s: float = 5.0):
        if max_latency_s <= 0:
            raise ConfigError(f"max_latency_s must be positive, got {max_latency_s}")
        self.max_latency_s = max_latency_s

    def choose(self, ctx: RoutingContext) -> Choice:
        """See the class docstring."""
        prediction = ctx.prediction()
        out = ctx.features.output_tokens
        timed = [(ctx.latency.estimate(c.model, out), c) for c in ctx.candidates]
        within = [(t, c) for t, c in timed if t <= self.max_latency_s]
        wanted = ctx.tiers.index(prediction.tier)
        adequate = [(t, c) for t, c in within if c.rank >= wanted]
        budget = f"{self.max_latency_s:g}s"
        if adequate:
            seconds, best = min(adequate, key=lambda tc: (tc[1].rank, tc[1].cost_key))
            why = (f"{prediction.detail}; {best.model.name} (tier {best.model.tier}) answers in "
                   f"~{seconds:.2f}s, within {budget}")
        elif within:
            seconds, best = max(within, key=lambda tc: (tc[1].rank, -tc[1].cost_key[0]))
            why = (f"{prediction.detail}, but no {prediction.tier} model answers within "
                   f"{budget}; best within it: {best.model.name} (~{seconds:.2f}s)")
        else:
            seconds, best = min(timed, key=lambda tc: tc[0])
            why = (f"no model answers within {budget}; fastest: {best.model.name} "
                   f"(~{seconds:.2f}s)")
        return Choice(best, best.model.tier, why)


@register_policy("explicit")
class Explicit:
    """A pinned model: the policy's `model`, else the request's `model`, else the cheapest
    model of the request's `tier`.

    Args:
        model: the model name to always use (None: take it from each request).
    """

    name = "explicit"

    def __init__(self, model: str | None = None):
        self.model = model

    def choose(self, ctx: RoutingContext) -> Choice:
        """See the class docstring."""
        name = ctx.request.model or self.model
        if name:
            found = next((c for c in ctx.candidates if c.model.name == name), None)
            if found is None:
                raise NotFoundError(f"model {name!r} was asked for explicitly but is not a "
                                    "candidate that fits this request; candidates: "
                                    f"{_names(ctx.candidates)}")
            return Choice(found, found.model.tier, f"explicit: model {name} requested")
        if ctx.request.tier:
            if ctx.request.tier not in ctx.tiers:
                raise ConfigError(f"unknown tier {ctx.request.tier!r}; tiers: "
                                  f"{', '.join(ctx.tiers)}")
            choice = _serve_tier(ctx, ctx.request.tier)
            return Choice(choice.candidate, choice.tier,
                          f"explicit: tier {ctx.request.tier} requested; {choice.reason}")
        raise ConfigError("the explicit routing policy needs a model: set the policy's "
                          "`model` parameter or the request's model/tier")


def _names(candidates: Sequence[Candidate]) -> str:
    return ", ".join(c.model.name for c in candidates) or "(none)"
