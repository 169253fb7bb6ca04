"""Scoring a router on outcome data it was not trained on: the cost-quality curve, APGR and
CPT, next to random routing at equal cost.

The router is evaluated with the decision the deployed `Router.route` makes
(`TierClassifier.decide` on `decision.request_inputs`), among the reference models the data
has a column for. Every cost weight of a grid gives one routing of the rows: its mean score
(accuracy, for 0/1 outcomes) and mean cost per prompt; together they are the curve.

Normalised as RouteLLM does, between the *weak* model (the cheapest) and the *strong* one
(the best on these rows, unless named):

* PGR (performance gap recovered) at a spend: (score - weak) / (strong - weak), the best the
  curve reaches at that normalised cost (cost - weak cost) / (strong cost - weak cost);
* APGR: the area under PGR over normalised cost 0-1. Random routing (each prompt to the
  strong model with a probability) is the diagonal: APGR 0.5;
* CPT(x): the normalised cost at which PGR first reaches x (random routing: x itself).

With more than two models, a mid-priced model alone may already beat the diagonal (Claude
Instant on ARC), so `apgr_models` is also given: the APGR of routing each prompt at random
among the models, in the best proportions for each cost (the upper concave hull of the
single models' points), knowing nothing about the prompt. On rows of one task it is the
ceiling of routing by task; a router that beats it ranks prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.types import LLMRequest, ModelInfo
from aios.routing.classifier import TierClassifier
from aios.routing.decision import counterparts, request_inputs
from aios.routing.outcomes import RoutingData

__all__ = ["CurvePoint", "Evaluation", "apgr", "cpt", "evaluate", "mix_apgr", "pgr_curve"]

#: Cost weights traced for the curve (the trained one is added).
WEIGHTS = np.array([0.0, *np.geomspace(1e-3, 100.0, 60)])
_GRID = np.linspace(0.0, 1.0, 201)


@dataclass(frozen=True)
class CurvePoint:
    """One routing of the rows: the cost weight, mean score and mean cost per prompt."""

    weight: float
    accuracy: float
    cost: float


@dataclass(frozen=True)
class Evaluation:
    """What `aios router evaluate` prints."""

    rows: int
    models: list[str]
    weak: str
    strong: str
    weak_point: CurvePoint
    strong_point: CurvePoint
    curve: list[CurvePoint]
    operating: CurvePoint
    apgr: float
    apgr_models: float
    cpt50: float | None
    cpt80: float | None
    shares: dict[str, float] = field(default_factory=dict)

    @property
    def random_at_operating(self) -> float:
        """Random routing's score at the operating point's cost."""
        return _random_score(self, self.operating.cost)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {"rows": self.rows, "models": self.models, "weak": self.weak,
                "strong": self.strong, "weak_point": self.weak_point.__dict__,
                "strong_point": self.strong_point.__dict__,
                "curve": [p.__dict__ for p in self.curve],
                "operating_point": {**self.operating.__dict__,
                                    "random_accuracy_at_equal_cost":
                                        round(self.random_at_operating, 4),
                                    "choices": self.shares},
                "apgr": round(self.apgr, 4), "apgr_random": 0.5,
                "apgr_mix": round(self.apgr_models, 4),
                "cpt50": self.cpt50, "cpt80": self.cpt80, "cpt50_random": 0.5,
                "cpt80_random": 0.8}


def _random_score(ev: Evaluation, cost: float) -> float:
    span = ev.strong_point.cost - ev.weak_point.cost
    share = 0.0 if span <= 0 else min(max((cost - ev.weak_point.cost) / span, 0.0), 1.0)
    return ev.weak_point.accuracy + share * (ev.strong_point.accuracy - ev.weak_point.accuracy)


def pgr_curve(points: Sequence[CurvePoint], weak: CurvePoint, strong: CurvePoint
              ) -> np.ndarray:
    """PGR on `_GRID` of normalised cost: the best point at or below each cost (always-weak
    is available at cost 0)."""
    gap = strong.accuracy - weak.accuracy
    span = strong.cost - weak.cost
    if gap <= 0 or span <= 0:
        return np.zeros_like(_GRID)
    x = np.array([(p.cost - weak.cost) / span for p in points])
    y = np.array([(p.accuracy - weak.accuracy) / gap for p in points])
    out = np.zeros_like(_GRID)
    for i, g in enumerate(_GRID):
        within = y[x <= g + 1e-12]
        out[i] = max(0.0, float(within.max())) if len(within) else 0.0
    return out


def mix_apgr(points: Sequence[CurvePoint], weak: CurvePoint, strong: CurvePoint) -> float:
    """APGR of random mixes of `points` (the upper concave hull, from always-weak)."""
    gap, span = strong.accuracy - weak.accuracy, strong.cost - weak.cost
    if gap <= 0 or span <= 0:
        return 0.0
    xy = sorted({(0.0, 0.0), *(((p.cost - weak.cost) / span, (p.accuracy - weak.accuracy) / gap)
                               for p in points)})
    hull: list[tuple[float, float]] = []
    for x, y in xy:
        while len(hull) >= 2 and (hull[-1][0] - hull[-2][0]) * (y - hull[-2][1]) >= \
                (hull[-1][1] - hull[-2][1]) * (x - hull[-2][0]):
            hull.pop()
        hull.append((x, y))
    top = [(x, y) for x, y in hull if y >= max(v for _, v in hull[: hull.index((x, y)) + 1])]
    xs, ys = np.array([x for x, _ in top]), np.array([y for _, y in top])
    curve = np.maximum(np.interp(_GRID, xs, ys, right=float(ys.max())), 0.0)
    return float(np.trapezoid(curve, _GRID))


def apgr(points: Sequence[CurvePoint], weak: CurvePoint, strong: CurvePoint) -> float:
    """Area under the PGR curve over normalised cost 0-1 (random routing: 0.5)."""
    return float(np.trapezoid(pgr_curve(points, weak, strong), _GRID))


def cpt(points: Sequence[CurvePoint], weak: CurvePoint, strong: CurvePoint,
        target: float) -> float | None:
    """The normalised cost at which PGR first reaches `target` (None: never)."""
    curve = pgr_curve(points, weak, strong)
    hit = np.flatnonzero(curve >= target - 1e-12)
    return round(float(_GRID[hit[0]]), 4) if len(hit) else None


def evaluate(classifier: TierClassifier, embedder: EmbeddingService, data: RoutingData, *,
             strong: str | None = None, raw: np.ndarray | None = None) -> Evaluation:
    """Score `classifier` on `data` (see the module docstring).

    Args:
        classifier: the router classifier.
        embedder: the embedding service it was trained with.
        data: outcomes it was not trained on.
        strong: the strong model (default: the best-scoring one on these rows).
        raw: precomputed `request_inputs` of the rows (to save embedding them again).

    Raises:
        ConfigError: fewer than two of the data's models are reference models of the
            classifier.
    """
    configured = [ModelInfo(m, "data", m) for m in data.models]
    serving = counterparts(classifier.references, configured)
    allowed = [name is not None for name in serving]
    usable = list(dict.fromkeys(name for name in serving if name is not None))
    if len(usable) < 2:
        refs = ", ".join(r.name for r in classifier.references)
        raise ConfigError(f"the data's models ({', '.join(data.models)}) match fewer than two "
                          f"reference models of the router classifier ({refs}); evaluate a "
                          "classifier trained on these models (`aios router train`)")
    column = np.array([data.models.index(name) if name else -1 for name in serving])
    if raw is None:
        raw = request_inputs(embedder, [LLMRequest.of(p) for p in data.prompts])
    x = classifier.standardise(raw)
    rows = np.arange(len(data))

    def point(weight: float) -> tuple[CurvePoint, np.ndarray]:
        picks = column[classifier.decide(x, allowed, cost_weight=weight)]
        return CurvePoint(round(weight, 6), float(data.correct[rows, picks].mean()),
                          float(data.cost[rows, picks].mean())), picks

    curve = [point(float(w))[0] for w in WEIGHTS]
    operating, picks = point(classifier.cost_weight)
    idx = [data.models.index(m) for m in usable]
    means, costs = data.correct.mean(axis=0), data.cost.mean(axis=0)
    weak_i = min(idx, key=lambda j: costs[j])
    if strong is not None and strong not in usable:
        raise ConfigError(f"--strong {strong!r} is not one of the usable models: "
                          f"{', '.join(usable)}")
    strong_i = data.models.index(strong) if strong else max(idx, key=lambda j: means[j])
    weak_p = CurvePoint(float("inf"), float(means[weak_i]), float(costs[weak_i]))
    strong_p = CurvePoint(0.0, float(means[strong_i]), float(costs[strong_i]))
    points = [*curve, operating]
    shares = np.bincount(picks, minlength=len(data.models)) / len(data)
    return Evaluation(
        rows=len(data), models=usable, weak=data.models[weak_i],
        strong=data.models[strong_i], weak_point=weak_p, strong_point=strong_p,
        curve=sorted(curve, key=lambda p: p.cost), operating=operating,
        apgr=apgr(points, weak_p, strong_p),
        apgr_models=mix_apgr([CurvePoint(0.0, float(means[j]), float(costs[j]))
                              for j in idx], weak_p, strong_p),
        cpt50=cpt(points, weak_p, strong_p, 0.5),
        cpt80=cpt(points, weak_p, strong_p, 0.8),
        shares={m: round(float(s), 4) for m, s in zip(data.models, shares, strict=True)
                if s > 0})
