"""The router: request features → tier → the model a policy picks among those that fit.

`Router.route(request, candidates, max_cost_usd=None)` never returns a model whose context
window is smaller than the prompt plus its output cap, that lacks tools or JSON support the
request needs, or whose estimated cost exceeds the budget hint. Everything it decides on is
a `ModelInfo` field (tier, context window, capabilities, prices), never a provider name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aios.embeddings import EmbeddingService
from aios.errors import BudgetExceeded, ConfigError, NotFoundError
from aios.llm.config import TIERS
from aios.llm.types import LLMRequest, ModelInfo
from aios.routing.classifier import TierClassifier
from aios.routing.decision import counterparts, request_inputs
from aios.routing.features import RequestFeatures, extract_features
from aios.routing.latency import LatencyEstimator
from aios.routing.policies import (
    Candidate,
    Policy,
    RoutingContext,
    TierPrediction,
    create_policy,
)

__all__ = ["PriceFn", "RouteDecision", "Router", "feature_tier"]

#: `model -> (input, output)` USD per million tokens, None when unknown. The gateway passes
#: its price table (genai-prices plus manifest overrides); the default reads ModelInfo.
PriceFn = Callable[[ModelInfo], tuple[float | None, float | None]]


def _declared_prices(model: ModelInfo) -> tuple[float | None, float | None]:
    return model.input_price, model.output_price


@dataclass(frozen=True)
class RouteDecision:
    """Why a model was chosen; `record()` is what the gateway stores.

    Attributes:
        model: the chosen model's name.
        tier: the tier it serves.
        reason: one sentence for humans.
        policy: the policy that decided.
        features: the request features (`RequestFeatures.as_dict()`).
        scores: per tier, the evidence (classifier P(correct) or feature points).
        estimated_cost_usd: the estimate for this request on the chosen model (None: unpriced).
        rejected: models that did not fit, with the reason.
    """

    model: str
    tier: str
    reason: str
    policy: str
    features: dict[str, Any]
    scores: dict[str, float] = field(default_factory=dict)
    estimated_cost_usd: float | None = None
    rejected: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """A JSON-able dict of the decision."""
        return {"model": self.model, "tier": self.tier, "reason": self.reason,
                "policy": self.policy, "features": dict(self.features),
                "scores": dict(self.scores), "estimated_cost_usd": self.estimated_cost_usd,
                "rejected": dict(self.rejected)}


def feature_tier(features: RequestFeatures, tiers: Sequence[str] = TIERS) -> TierPrediction:
    """A tier from the request features alone (used when no classifier is loaded).

    One point each for code, maths, multi-step reasoning, tool use and a long prompt
    (> 2,000 tokens), one more for a very long one (> 16,000): 0 points → the first tier,
    1 → the middle one, 2 or more → the last one. Fixed by reasoning, not fitted to data.
    """
    marks = {"code": features.code, "math": features.math, "multi_step": features.multi_step,
             "tools": features.tools, "long": features.input_tokens > 2000,
             "very_long": features.input_tokens > 16000}
    points = sum(marks.values())
    # 0, 1, 2+ points spread over the tiers: first, middle, last.
    tier = tiers[int(min(points, 2) * (len(tiers) - 1) / 2 + 0.5)]
    found = [name for name, on in marks.items() if on] or ["no complexity markers"]
    return TierPrediction(tier, {"points": float(points)}, "features",
                          f"features ({', '.join(found)}) suggest {tier}")


class Router:
    """Chooses a model for a request among candidate models.

    Args:
        policy: a policy name (`cheapest-adequate`, `quality-first`, `latency-budget`,
            `explicit`) or a `Policy` object.
        policy_params: parameters for a policy given by name (`max_latency_s`, `model`).
        classifier: the complexity classifier (None: tiers from features alone).
        embedder: the embedding service the classifier needs.
        tiers: tier names, least capable first.
        prices: `model -> (input, output)` USD per million tokens (default: ModelInfo fields).
        latency: latency estimates (the gateway may `observe` calls into it).
        default_output_tokens: output assumed for cost and latency when `max_tokens` is unset.
        references: reference model of the classifier -> configured model name, for
            configured models whose name and model id differ from the reference's
            (`aios.routing.decision.counterparts`).
    """

    def __init__(self, policy: str | Policy = "cheapest-adequate", *,
                 policy_params: dict[str, Any] | None = None,
                 classifier: TierClassifier | None = None,
                 embedder: EmbeddingService | None = None,
                 tiers: Sequence[str] = TIERS, prices: PriceFn | None = None,
                 latency: LatencyEstimator | None = None, default_output_tokens: int = 512,
                 references: Mapping[str, str] | None = None):
        self.policy = create_policy(policy, **(policy_params or {})) if isinstance(
            policy, str) else policy
        if classifier is not None and embedder is None:
            raise ConfigError("a router classifier needs the embedding service it was "
                              "trained with (pass embedder=EmbeddingService.open())")
        if classifier is not None and embedder is not None and \
                classifier.embedder != embedder.name:
            raise ConfigError(f"the router classifier was trained on {classifier.embedder!r} "
                              f"embeddings but the service runs {embedder.name!r}; retrain it "
                              "with `aios router train`")
        self.classifier = classifier
        self.embedder = embedder
        self.references = dict(references or {})
        if classifier is not None:
            counterparts(classifier.references, [], self.references)  # unknown names fail now
        self.tiers = tuple(tiers)
        self.prices = prices or _declared_prices
        self.latency = latency or LatencyEstimator()
        self.default_output_tokens = default_output_tokens

    # -- public API -----------------------------------------------------------------------

    def route(self, request: LLMRequest, candidates: list[ModelInfo], *,
              max_cost_usd: float | None = None) -> RouteDecision:
        """The model for `request`, among `candidates`.

        Raises:
            NotFoundError: no candidate fits (context window or capabilities); the message
                lists each candidate and why.
            BudgetExceeded: models fit, but none within `max_cost_usd`.
            ConfigError: a candidate declares an unknown tier.
        """
        features = extract_features(request,
                                    default_output_tokens=self.default_output_tokens)
        fitting, rejected = self._screen(request, features, candidates, max_cost_usd)
        policy = self.policy
        if request.model or request.tier:
            policy = create_policy("explicit")
        ctx = RoutingContext(request=request, features=features, candidates=fitting,
                             tiers=self.tiers, predict=self._predict, latency=self.latency)
        choice = policy.choose(ctx)
        prediction = ctx._prediction
        return RouteDecision(
            model=choice.candidate.model.name, tier=choice.tier,
            reason=f"{policy.name}: {choice.reason}", policy=policy.name,
            features=features.as_dict(),
            scores=dict(prediction.scores) if prediction is not None else {},
            estimated_cost_usd=choice.candidate.cost_usd, rejected=rejected)

    # -- internals ------------------------------------------------------------------------

    def estimate_cost(self, model: ModelInfo, features: RequestFeatures) -> float | None:
        """Estimated USD of the request on `model` (None when its prices are unknown)."""
        price_in, price_out = self.prices(model)
        if price_in is None or price_out is None:
            return None
        return (features.input_tokens * price_in + features.output_tokens * price_out) / 1e6

    def _screen(self, request: LLMRequest, features: RequestFeatures,
                candidates: Sequence[ModelInfo], max_cost_usd: float | None
                ) -> tuple[list[Candidate], dict[str, str]]:
        fitting: list[Candidate] = []
        rejected: dict[str, str] = {}
        over_budget = 0
        needed = features.input_tokens + features.output_tokens
        for model in candidates:
            if model.tier not in self.tiers:
                raise ConfigError(f"model {model.name!r} has tier {model.tier!r}; known tiers: "
                                  f"{', '.join(self.tiers)}")
            why = None
            if model.context_window < needed:
                why = (f"context window {model.context_window} < {features.input_tokens} "
                       f"prompt + {features.output_tokens} output tokens")
            elif request.tools and not model.supports_tools:
                why = "no tool support"
            elif request.response_format is not None and not model.supports_json:
                why = "no JSON output support"
            cost = self.estimate_cost(model, features)
            if why is None and max_cost_usd is not None:
                if cost is None:
                    why = "price unknown, cannot check the budget"
                elif cost > max_cost_usd:
                    why = f"estimated ${cost:.6f} > budget ${max_cost_usd:.6f}"
                    over_budget += 1
            if why is not None:
                rejected[model.name] = why
                continue
            fitting.append(Candidate(model, self.tiers.index(model.tier), cost))
        if not fitting:
            listed = "; ".join(f"{name}: {why}" for name, why in rejected.items()) or \
                "no candidates given"
            if over_budget:
                raise BudgetExceeded(f"no model serves this request within ${max_cost_usd}: "
                                     f"{listed}; raise the budget or shorten the request")
            raise NotFoundError(f"no configured model fits this request ({listed}); configure "
                                "a model with a larger context_window or the needed "
                                "capabilities under `models:`")
        return fitting, rejected

    def _predict(self, ctx: RoutingContext) -> TierPrediction:
        classifier = self.classifier
        if classifier is None or self.embedder is None:
            return feature_tier(ctx.features, self.tiers)
        serving = counterparts(classifier.references, [c.model for c in ctx.candidates],
                               self.references)
        allowed = [name is not None for name in serving]
        if not any(allowed):
            # The classifier's figures hold for its reference models only: with none of them
            # configured, it has nothing measured to say about these models.
            fallback = feature_tier(ctx.features, self.tiers)
            names = ", ".join(ref.name for ref in classifier.references)
            return TierPrediction(
                fallback.tier, fallback.scores, "features",
                f"no configured model is a reference model of the router classifier ({names};"
                f" map yours under routing.references); {fallback.detail}")
        x = classifier.standardise(request_inputs(
            self.embedder, [ctx.request], default_output_tokens=self.default_output_tokens))
        index = int(classifier.decide(x, allowed)[0])
        reference = classifier.references[index]
        proba = classifier.predict_proba(x)[0]
        scores = {name: round(float(p), 4)
                  for name, p in zip(serving, proba, strict=True) if name is not None}
        chosen = serving[index]
        assert chosen is not None
        evidence = ", ".join(f"{name} {p:.2f}" for name, p in scores.items())
        return TierPrediction(
            reference.tier, scores, "classifier",
            f"classifier: best value is reference model {reference.name} = {chosen} "
            f"(P(correct): {evidence})", model=chosen)
