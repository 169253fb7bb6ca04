"""Training the complexity classifier from per-prompt outcome data (RouterBench format).

Input: CSV files with a `prompt` column and, per model, a 0/1 correctness column `<model>`
and a cost column `<model>|total_cost` (USD). The rows are split once (seeded) into a training
and a held-out part. Everything that is chosen is chosen on the training part by k-fold
cross-validation: the L2 strength (out-of-fold log-loss) and the cost weight (the cheapest
setting whose out-of-fold accuracy stays above `quality` x the strongest model's accuracy
by one standard error of the paired per-prompt difference, a margin against optimism).
The held-out part is only used for the report: router vs always-strongest, always-cheapest,
random and oracle routing.
"""

from __future__ import annotations

import ast
import csv
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.types import LLMRequest
from aios.routing.classifier import ReferenceModel, TierClassifier, fit_logistic
from aios.routing.features import extract_features

__all__ = ["Outcome", "RoutingData", "TrainingReport", "assign_tiers", "read_routing_data",
           "train_router"]

_COST = "|total_cost"
_L2_GRID = (0.01, 0.1, 1.0, 10.0)
_WEIGHT_GRID = (0.0, *np.round(np.geomspace(0.002, 2.0, 40), 5))


@dataclass(frozen=True)
class RoutingData:
    """Per-prompt outcomes: `correct[i, j]` and `cost[i, j]` of model j on prompt i."""

    prompts: list[str]
    models: list[str]
    correct: np.ndarray
    cost: np.ndarray
    dropped: int = 0

    def __len__(self) -> int:
        return len(self.prompts)


def _prompt_text(raw: str) -> str:
    """RouterBench stores prompts as a Python list literal of turns; join them."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            turns = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return raw
        if isinstance(turns, list) and all(isinstance(t, str) for t in turns):
            return "\n".join(turns)
    return raw


def _csv_files(paths: Sequence[Path | str]) -> list[Path]:
    files: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found = sorted(entry.glob("*.csv"))
            if not found:
                raise ConfigError(f"{entry}: no .csv files in this directory")
            files.extend(found)
        elif entry.is_file():
            files.append(entry)
        else:
            raise ConfigError(f"{entry}: no such file or directory (--data takes CSV files "
                              "or directories of them)")
    return files


def read_routing_data(paths: Sequence[Path | str], models: Sequence[str] | None = None
                      ) -> RoutingData:
    """Read RouterBench-style CSV files (directories: every `*.csv` inside).

    Args:
        paths: files or directories.
        models: the model columns to use (default: every model with a `|total_cost` column
            in the first file; the other files must have the same ones).

    Raises:
        ConfigError: a file or column is missing or a value is not a number; the message
            names the file, the column and (for values) the line.
    """
    csv.field_size_limit(sys.maxsize)
    prompts: list[str] = []
    correct: list[list[float]] = []
    cost: list[list[float]] = []
    dropped = 0
    chosen = list(models) if models else None
    for file in _csv_files(paths):
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            if "prompt" not in header:
                raise ConfigError(f"{file}: column 'prompt' is missing (columns: "
                                  f"{', '.join(header[:8]) or 'none'}...)")
            if chosen is None:
                chosen = [h for h in header if "|" not in h and f"{h}{_COST}" in header]
                if len(chosen) < 2:
                    raise ConfigError(f"{file}: needs at least two models, each with a 0/1 "
                                      f"column `<model>` and a `<model>{_COST}` column")
            for model in chosen:
                for column in (model, f"{model}{_COST}"):
                    if column not in header:
                        raise ConfigError(f"{file}: column {column!r} is missing")
            for line, row in enumerate(reader, start=2):
                raw_ok = [row[m] for m in chosen]
                if any(v is None or v.strip() == "" for v in raw_ok):
                    dropped += 1  # a model without an outcome for this prompt
                    continue
                try:
                    ok = [float(v) for v in raw_ok]
                    spent = [float(row[f"{m}{_COST}"] or "nan") for m in chosen]
                except ValueError as exc:
                    raise ConfigError(f"{file}:{line}: a correctness or cost value is not a "
                                      f"number ({exc})") from exc
                if any(v not in (0.0, 1.0) for v in ok) or any(math.isnan(c) for c in spent):
                    raise ConfigError(f"{file}:{line}: correctness must be 0 or 1 and costs "
                                      "numbers")
                prompts.append(_prompt_text(row["prompt"] or ""))
                correct.append(ok)
                cost.append(spent)
    if chosen is None or not prompts:
        raise ConfigError("the routing data has no usable rows")
    return RoutingData(prompts, chosen, np.array(correct), np.array(cost), dropped)


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
        return self.accuracy_ratio >= self.quality and self.cost_ratio <= 0.30

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able report."""
        return {"outcomes": [o.__dict__ for o in self.outcomes], "strongest": self.strongest,
                "cheapest": self.cheapest, "n_train": self.n_train, "n_test": self.n_test,
                "dropped_rows": self.dropped,
                "references": [r.__dict__ for r in self.references], "l2": self.l2,
                "cost_weight": self.cost_weight, "quality": self.quality,
                "accuracy_ratio": round(self.accuracy_ratio, 4),
                "cost_ratio": round(self.cost_ratio, 4), "target_met": self.target_met,
                "router_choices": self.choices}


def _inputs(data: RoutingData, embedder: EmbeddingService) -> np.ndarray:
    embeddings = embedder.embed(data.prompts)
    features = np.stack([extract_features(LLMRequest.of(p)).vector() for p in data.prompts])
    return np.hstack([embeddings, features]).astype(np.float32)


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=0), x.std(axis=0) + 1e-6


def _oof(x: np.ndarray, y: np.ndarray, l2: float, folds: np.ndarray) -> np.ndarray:
    """Out-of-fold P(correct) for every training row."""
    proba = np.zeros_like(y, dtype=np.float64)
    for fold in np.unique(folds):
        fit, held = folds != fold, folds == fold
        mean, scale = _standardise(x[fit])
        w = fit_logistic((x[fit] - mean) / scale, y[fit], l2)
        z = ((x[held] - mean) / scale) @ w[:-1] + w[-1]
        proba[held] = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    return proba


def _utility_choice(proba: np.ndarray, costs: np.ndarray, weight: float) -> np.ndarray:
    return np.asarray((proba - weight * costs / costs.max()).argmax(axis=1))


def train_router(data: RoutingData, embedder: EmbeddingService, *, seed: int = 0,
                 test_size: float = 0.3, quality: float = 0.95, folds: int = 5,
                 tiers: Mapping[str, str] | None = None, strong: str | None = None
                 ) -> tuple[TierClassifier, TrainingReport]:
    """Train on a seeded split of `data` and report on the held-out part.

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

    Raises:
        ConfigError: too few rows, or a bad `test_size` / `quality`.
    """
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"test size must be between 0 and 1, got {test_size}")
    if not 0.0 < quality <= 1.0:
        raise ConfigError(f"quality must be in (0, 1], got {quality}")
    n = len(data)
    n_test = round(n * test_size)
    if n - n_test < 4 * folds or n_test < 10:
        raise ConfigError(f"{n} usable rows are too few to train and hold out a test part; "
                          "give more data")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    test, train = order[:n_test], order[n_test:]
    x_all = _inputs(data, embedder)
    y, c = data.correct, data.cost
    x, ytr, ctr = x_all[train], y[train], c[train]
    fold_of = rng.permutation(len(train)) % folds

    def log_loss(proba: np.ndarray) -> float:
        p = np.clip(proba, 1e-9, 1 - 1e-9)
        return float(-(ytr * np.log(p) + (1 - ytr) * np.log(1 - p)).mean())

    oof = {l2: _oof(x, ytr, l2, fold_of) for l2 in _L2_GRID}
    l2 = min(_L2_GRID, key=lambda value: log_loss(oof[value]))
    mean_cost = ctr.mean(axis=0)
    if strong is not None and strong not in data.models:
        raise ConfigError(f"--strong {strong!r} is not a model of the data; models: "
                          f"{', '.join(data.models)}")
    strong_index = data.models.index(strong) if strong else int(ytr.mean(axis=0).argmax())
    rows = np.arange(len(train))
    weight, best_cost = 0.0, math.inf
    for candidate in _WEIGHT_GRID:
        picks = _utility_choice(oof[l2], mean_cost, float(candidate))
        # Paired per-prompt gap to the target; keep the setting only if the gap's mean is
        # positive by one standard error (the one-standard-error rule against optimism).
        gap = ytr[rows, picks] - quality * ytr[:, strong_index]
        lower = float(gap.mean() - gap.std(ddof=1) / math.sqrt(len(gap)))
        spent = float(ctr[rows, picks].mean())
        if lower >= 0.0 and spent < best_cost:
            weight, best_cost = float(candidate), spent
    mean, scale = _standardise(x)
    w = fit_logistic((x - mean) / scale, ytr, l2)
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
        cost_weight=weight,
        info={"rows_train": len(train), "rows_test": n_test, "seed": seed, "l2": l2,
              "quality": quality})
    # Held-out evaluation.
    xt, yt, ct = x_all[test], y[test], c[test]
    picks = classifier.choose(classifier.predict_proba((xt - mean) / scale))
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
        Outcome("oracle", float(any_ok.mean()), float(ct[rows_t, oracle].mean())),
    ]
    shares = np.bincount(picks, minlength=len(data.models)) / n_test
    report = TrainingReport(
        outcomes=outcomes, strongest=data.models[strong_index], cheapest=data.models[cheapest],
        n_train=len(train), n_test=n_test, dropped=data.dropped, references=list(references),
        l2=l2, cost_weight=weight, quality=quality,
        choices={m: round(float(s), 4) for m, s in zip(data.models, shares, strict=True)
                 if s > 0})
    return classifier, report
