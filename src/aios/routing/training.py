"""Training the complexity classifier from per-prompt outcome data (RouterBench format).

Input: CSV files with a `prompt` column and, per model, a 0/1 correctness column `<model>`
and a cost column `<model>|total_cost` (USD). The rows are split once (seeded) into a training
and a held-out part. Everything that is chosen is chosen on the training part by k-fold
cross-validation:

* the L2 strength of P(correct) (out-of-fold log-loss) and of the cost model (out-of-fold
  squared error of log cost);
* the operating point. Every cost weight on a grid gives out-of-fold (spend, accuracy); their
  upper concave hull is the frontier. The budget is the least spend at which the frontier
  reaches `quality` x the strongest model's accuracy, plus `margin_se` standard errors of
  the paired per-prompt gap (a hedge against sampling noise, not a second target).
* the cost weight: out-of-fold models are fitted on less data than the final one, so the
  same weight does not spend the same on the final model; the weight kept is the smallest
  whose spend on the training prompts, with the final model's predictions, fits the budget.

The held-out part is only used for the report: router vs always-strongest, always-cheapest,
random, the best per-task mix in hindsight (`per_task_mix`) and oracle routing.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.types import LLMRequest
from aios.routing.baselines import per_task_mix
from aios.routing.classifier import ReferenceModel, TierClassifier, fit_logistic
from aios.routing.decision import request_inputs
from aios.routing.outcomes import RoutingData, read_routing_data

__all__ = ["Outcome", "RoutingData", "TrainingReport", "assign_tiers", "read_routing_data",
           "train_router"]

_COST = "|total_cost"
#: The cost target: at most this share of the strongest model's cost.
COST_CAP = 0.30
_L2_GRID = (0.01, 0.1, 1.0, 10.0)
_COST_L2_GRID = (0.01, 0.1, 1.0, 10.0)
_WEIGHT_GRID = np.array([0.0, *np.geomspace(1e-3, 100.0, 400)])


def assign_tiers(costs: Mapping[str, float], tiers: Sequence[str] = ("simple", "medium",
                                                                      "complex")
                 ) -> dict[str, str]:
    """Tiers by price: cut the models sorted by cost at the largest gaps of log cost.

    With three tiers and many models this finds the natural price classes (7B-class,
    mid-size, frontier); with two models it is weak → first tier, strong → last.
    """
    ordered = sorted(costs, key=lambda m: costs[m])
    if len(ordered) <= 1:
        return {m: tiers[-1] for m in ordered}
    if len(ordered) == 2:
        return {ordered[0]: tiers[0], ordered[1]: tiers[-1]}
    logs = np.log([max(costs[m], 1e-12) for m in ordered])
    gaps = np.diff(logs)
    cuts = sorted(int(i) + 1 for i in np.argsort(gaps)[::-1][: len(tiers) - 1])
    out: dict[str, str] = {}
    level = 0
    for index, model in enumerate(ordered):
        while level < len(cuts) and index >= cuts[level]:
            level += 1
        out[model] = tiers[level]
    return out


@dataclass(frozen=True)
class Outcome:
    """One routing strategy on the held-out rows: mean accuracy and mean cost per prompt."""

    name: str
    accuracy: float
    cost: float


@dataclass(frozen=True)
class TrainingReport:
    """What `aios router train` prints."""

    outcomes: list[Outcome]
    strongest: str
    cheapest: str
    n_train: int
    n_test: int
    dropped: int
    references: list[ReferenceModel]
    l2: float
    cost_weight: float
    quality: float
    budget: float = 0.0
    margin_se: float = 0.0
    choices: dict[str, float] = field(default_factory=dict)

    def outcome(self, name: str) -> Outcome:
        """The outcome called `name`."""
        return next(o for o in self.outcomes if o.name == name)

    @property
    def accuracy_ratio(self) -> float:
        """Router accuracy / always-strongest accuracy."""
        strong = self.outcome("always-strongest").accuracy
        return self.outcome("router").accuracy / strong if strong else 0.0

    @property
    def cost_ratio(self) -> float:
        """Router cost / always-strongest cost."""
        strong = self.outcome("always-strongest").cost
        return self.outcome("router").cost / strong if strong else 0.0

    @property
    def target_met(self) -> bool:
        """>= `quality` of the strongest model's accuracy at <= 30% of its cost."""
        return self.accuracy_ratio >= self.quality and self.cost_ratio <= COST_CAP

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able report."""
        return {"outcomes": [o.__dict__ for o in self.outcomes], "strongest": self.strongest,
                "cheapest": self.cheapest, "n_train": self.n_train, "n_test": self.n_test,
                "dropped_rows": self.dropped,
                "references": [r.__dict__ for r in self.references], "l2": self.l2,
                "cost_weight": self.cost_weight, "quality": self.quality,
                "budget_usd": self.budget, "margin_se": self.margin_se,
                "accuracy_ratio": round(self.accuracy_ratio, 4),
                "cost_ratio": round(self.cost_ratio, 4), "target_met": self.target_met,
                "router_choices": self.choices}


def _inputs(data: RoutingData, embedder: EmbeddingService) -> np.ndarray:
    return request_inputs(embedder, [LLMRequest.of(p) for p in data.prompts])


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=0), x.std(axis=0) + 1e-6


def _fit_log_cost(z: np.ndarray, cost: np.ndarray, l2: float) -> np.ndarray:
    """Ridge regression of log cost on standardised inputs `z`; weights (d + 1, k).

    The bias absorbs half the residual variance, so `exp` of a prediction estimates the
    mean cost rather than the median (log-normal errors).
    """
    n, d = z.shape
    zb = np.hstack([z, np.ones((n, 1))])
    target = np.log(np.maximum(cost, 1e-12))
    penalty = l2 * np.eye(d + 1)
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    w = np.linalg.solve(zb.T @ zb / n + penalty, zb.T @ target / n)
    w[-1] += 0.5 * (target - zb @ w).var(axis=0)
    return np.asarray(w)


def _linear(w: np.ndarray, z: np.ndarray) -> np.ndarray:
    return np.asarray(z @ w[:-1] + w[-1])


def _logistic(score: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(score, -30, 30))))


def _oof(x: np.ndarray, targets: np.ndarray, folds: np.ndarray,
         fit: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Out-of-fold linear scores `z @ w` for every training row (inputs standardised on
    each fold's fitting part)."""
    out = np.zeros(targets.shape, dtype=np.float64)
    for fold in np.unique(folds):
        fit_rows, held = folds != fold, folds == fold
        mean, scale = _standardise(x[fit_rows])
        w = fit((x[fit_rows] - mean) / scale, targets[fit_rows])
        out[held] = _linear(w, (x[held] - mean) / scale)
    return out


@dataclass(frozen=True)
class _CrossValidation:
    """Out-of-fold predictions of the training rows, at the regularisation chosen."""

    l2: float
    cost_l2: float
    proba: np.ndarray
    cost: np.ndarray


def _cross_validate(x: np.ndarray, correct: np.ndarray, cost: np.ndarray,
                    folds: np.ndarray) -> _CrossValidation:
    """L2 of P(correct) by out-of-fold log-loss, of log cost by out-of-fold squared error."""
    def log_loss(score: np.ndarray) -> float:
        p = np.clip(_logistic(score), 1e-9, 1 - 1e-9)
        return float(-(correct * np.log(p) + (1 - correct) * np.log(1 - p)).mean())

    scores = {l2: _oof(x, correct, folds, functools.partial(fit_logistic, l2=l2))
              for l2 in _L2_GRID}
    l2 = min(_L2_GRID, key=lambda value: log_loss(scores[value]))
    log_cost = np.log(np.maximum(cost, 1e-12))
    logs = {l2: _oof(x, cost, folds, functools.partial(_fit_log_cost, l2=l2))
            for l2 in _COST_L2_GRID}
    cost_l2 = min(_COST_L2_GRID, key=lambda value: float(((logs[value] - log_cost) ** 2
                                                          ).mean()))
    return _CrossValidation(l2, cost_l2, _logistic(scores[l2]), np.exp(logs[cost_l2]))


def _choices(proba: np.ndarray, costs: np.ndarray, unit: float) -> np.ndarray:
    """Chosen column per row for every weight of the grid, shape (len(grid), n)."""
    return np.stack([(proba - w * costs / unit).argmax(axis=1) for w in _WEIGHT_GRID])


def _frontier_budget(spend: np.ndarray, accuracy: np.ndarray, target: float) -> float:
    """The least spend at which the upper concave hull of (spend, accuracy) reaches `target`.

    Points between two hull vertices are reachable by mixing their routings, so the hull,
    not the jagged curve of single weights, is the frontier. When no point reaches the
    target, the spend of the most accurate point.
    """
    hull: list[tuple[float, float]] = []
    for point in sorted(zip(spend.tolist(), accuracy.tolist(), strict=True)):
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1) >= 0:
                hull.pop()  # the last vertex lies on or under the chord: not on the hull
            else:
                break
        hull.append(point)
    hull = hull[: int(np.argmax([y for _, y in hull])) + 1]  # the rising part
    if hull[-1][1] < target:
        return hull[-1][0]
    if hull[0][1] >= target:
        return hull[0][0]
    for (x1, y1), (x2, y2) in itertools.pairwise(hull):
        if y2 >= target:
            return x1 + (x2 - x1) * (target - y1) / (y2 - y1)
    return hull[-1][0]  # unreachable: the last vertex reaches the target


def _budget(picks: np.ndarray, correct: np.ndarray, cost: np.ndarray, strong: int,
            quality: float, margin_se: float) -> float:
    """The spend per prompt the router may use (see the module docstring)."""
    rows = np.arange(correct.shape[0])
    spend = cost[rows, picks].mean(axis=1)
    accuracy = correct[rows, picks].mean(axis=1)
    target = quality * float(correct[:, strong].mean())
    # Standard error of the paired per-prompt gap to the target, near the target.
    near = int(np.abs(accuracy - target).argmin())
    gap = correct[rows, picks[near]] - quality * correct[:, strong]
    se = float(gap.std(ddof=1) / math.sqrt(len(gap)))
    return _frontier_budget(spend, accuracy, target + margin_se * se)


def train_router(data: RoutingData, embedder: EmbeddingService, *, seed: int = 0,
                 test_size: float = 0.3, quality: float = 0.95, folds: int = 5,
                 tiers: Mapping[str, str] | None = None, strong: str | None = None,
                 margin_se: float = 0.5) -> tuple[TierClassifier, TrainingReport | None]:
    """Train on a seeded split of `data` and report on the held-out part (`test_size` 0:
    train on every row, no report: score the classifier on other files with
    `aios.routing.evaluation.evaluate`).

    Args:
        data: the outcomes (its `models` are the reference models).
        embedder: the embedding service (its name is stored in the classifier).
        seed: the split and fold seed.
        test_size: the held-out fraction.
        quality: the accuracy target relative to the strongest model (0.95 = 95%).
        folds: cross-validation folds on the training part.
        tiers: model -> tier overrides (default: `assign_tiers` on training costs).
        strong: the model the accuracy target refers to (default: the most accurate one on
            the training part).
        margin_se: how many standard errors above the quality target the out-of-fold
            accuracy is aimed at (0: exactly at it).

    Raises:
        ConfigError: too few rows, or a bad `test_size` / `quality` / `margin_se`.
    """
    if not 0.0 <= test_size < 1.0:
        raise ConfigError(f"test size must be at least 0 and below 1, got {test_size}")
    if not 0.0 < quality <= 1.0:
        raise ConfigError(f"quality must be in (0, 1], got {quality}")
    if not 0.0 <= margin_se <= 5.0:
        raise ConfigError(f"the margin must be 0 to 5 standard errors, got {margin_se}")
    n = len(data)
    n_test = round(n * test_size)
    if n - n_test < 4 * folds or (test_size > 0 and n_test < 10):
        raise ConfigError(f"{n} usable rows are too few to train and hold out a test part; "
                          "give more data")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    test, train = order[:n_test], order[n_test:]
    x_all = _inputs(data, embedder)
    y, c = data.correct, data.cost
    x, ytr, ctr = x_all[train], y[train], c[train]
    fold_of = rng.permutation(len(train)) % folds
    cv = _cross_validate(x, ytr, ctr, fold_of)
    mean_cost = ctr.mean(axis=0)
    unit = float(mean_cost.max()) if mean_cost.max() > 0 else 1.0
    if strong is not None and strong not in data.models:
        raise ConfigError(f"--strong {strong!r} is not a model of the data; models: "
                          f"{', '.join(data.models)}")
    strong_index = data.models.index(strong) if strong else int(ytr.mean(axis=0).argmax())
    budget = _budget(_choices(cv.proba, cv.cost, unit), ytr, ctr, strong_index, quality,
                     margin_se)
    mean, scale = _standardise(x)
    z = (x - mean) / scale
    w = fit_logistic(z, ytr, cv.l2)
    cost_w = _fit_log_cost(z, ctr, cv.cost_l2)
    # The final model's spend on the training prompts, per weight: keep the first that fits.
    picks_in = _choices(_logistic(_linear(w, z)), np.exp(_linear(cost_w, z)), unit)
    spends = ctr[np.arange(len(train)), picks_in].mean(axis=1)
    fits = np.flatnonzero(spends <= budget * (1 + 1e-9))
    weight = float(_WEIGHT_GRID[fits[0]] if len(fits) else _WEIGHT_GRID[-1])
    tier_of = dict(tiers or assign_tiers(dict(zip(data.models, mean_cost.tolist(),
                                                  strict=True))))
    unknown = [m for m in data.models if m not in tier_of]
    if unknown:
        raise ConfigError(f"no tier given for model(s) {', '.join(unknown)}; pass --tier "
                          "MODEL=TIER for each, or none to assign tiers by price")
    references = tuple(ReferenceModel(m, tier_of[m], float(cost))
                       for m, cost in zip(data.models, mean_cost, strict=True))
    classifier = TierClassifier(
        embedder=embedder.name, references=references, weights=w, mean=mean, scale=scale,
        cost_weight=weight, cost_model=cost_w,
        info={"rows_train": len(train), "rows_test": n_test, "seed": seed, "l2": cv.l2,
              "cost_l2": cv.cost_l2, "quality": quality, "margin_se": margin_se,
              "budget_usd": budget})
    if n_test == 0:
        return classifier, None
    # Held-out evaluation.
    xt, yt, ct = x_all[test], y[test], c[test]
    zt = (xt - mean) / scale
    picks = classifier.decide(zt)
    rows_t = np.arange(n_test)
    cheapest = int(mean_cost.argmin())
    any_ok = yt.max(axis=1) > 0
    masked = np.where(yt > 0, ct, np.inf)
    oracle = np.where(any_ok, masked.argmin(axis=1), ct.argmin(axis=1))
    outcomes = [
        Outcome("router", float(yt[rows_t, picks].mean()), float(ct[rows_t, picks].mean())),
        Outcome("always-strongest", float(yt[:, strong_index].mean()),
                float(ct[:, strong_index].mean())),
        Outcome("always-cheapest", float(yt[:, cheapest].mean()),
                float(ct[:, cheapest].mean())),
        Outcome("random", float(yt.mean()), float(ct.mean())),
    ]
    if data.tasks:
        tasks_t = [data.tasks[i] for i in test]
        outcomes.append(Outcome(
            "per-task mix (hindsight)",
            *per_task_mix(yt, ct, tasks_t, COST_CAP * float(ct[:, strong_index].mean()))))
    outcomes.append(Outcome("oracle", float(any_ok.mean()), float(ct[rows_t, oracle].mean())))
    shares = np.bincount(picks, minlength=len(data.models)) / n_test
    report = TrainingReport(
        outcomes=outcomes, strongest=data.models[strong_index], cheapest=data.models[cheapest],
        n_train=len(train), n_test=n_test, dropped=data.dropped, references=list(references),
        l2=cv.l2, cost_weight=weight, quality=quality, budget=budget, margin_se=margin_se,
        choices={m: round(float(s), 4) for m, s in zip(data.models, shares, strict=True)
                 if s > 0})
    return classifier, report
