"""The complexity classifier: which tier of model is enough for a prompt.

A multi-output logistic regression (numpy; scipy's L-BFGS only when training) on the prompt's
embedding plus the request features. It has one output per *reference model* of its
training data (for RouterBench: GPT-4, Claude, Mixtral, ...): the probability that this model
answers the prompt correctly. Each reference model belongs to a tier and has a mean cost.
The decision is the reference model with the best expected utility

    p_correct(model) - cost_weight * cost(model) / cost(most expensive reference)

and the answer is its tier. `cost_weight` is calibrated when training (`aios router train`)
to the cheapest setting that keeps the strongest model's accuracy within the quality target.

Saved as a small ``.npz`` (arrays plus a JSON header, no pickle).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from aios.errors import ConfigError
from aios.routing.features import FEATURE_NAMES

__all__ = ["DEFAULT_CLASSIFIER", "ReferenceModel", "TierClassifier", "fit_logistic"]

#: The classifier shipped in the package (see docs: `aios router train ... --out` made it).
DEFAULT_CLASSIFIER = "default_router.npz"
_FORMAT = 1


@dataclass(frozen=True)
class ReferenceModel:
    """A model of the training data: its tier and its mean cost per prompt (USD)."""

    name: str
    tier: str
    cost: float


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, *, max_iter: int = 400
                 ) -> np.ndarray:
    """Independent L2-regularised logistic regressions, one per column of `y`.

    Args:
        x: inputs (n, d), already standardised.
        y: 0/1 targets (n, k).
        l2: regularisation strength (per example; the bias is not regularised).

    Returns:
        Weights (d + 1, k), the last row being the biases.
    """
    from scipy.optimize import minimize  # training only: inference needs numpy alone

    n, d = x.shape
    k = y.shape[1]
    xb = np.hstack([x, np.ones((n, 1), dtype=x.dtype)]).astype(np.float64)
    targets = y.astype(np.float64)

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        w = flat.reshape(d + 1, k)
        p = _sigmoid(xb @ w)
        eps = 1e-12
        value = -(targets * np.log(p + eps) + (1 - targets) * np.log(1 - p + eps)).sum() / n
        value += 0.5 * l2 * float((w[:-1] ** 2).sum())
        grad = xb.T @ (p - targets) / n
        grad[:-1] += l2 * w[:-1]
        return float(value), grad.ravel()

    result = minimize(loss, np.zeros((d + 1) * k), jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iter})
    return np.asarray(result.x, dtype=np.float64).reshape(d + 1, k)


@dataclass(frozen=True)
class TierClassifier:
    """Predicts which reference models answer a prompt correctly, and so which tier suffices.

    Attributes:
        embedder: the embedding model name the classifier was trained on.
        references: the reference models, one per output.
        weights: (dim + features + 1, len(references)).
        mean, scale: input standardisation.
        cost_weight: the utility's cost weight (see the module docstring).
        info: training facts (data, split, scores), shown by `aios router show`.
    """

    embedder: str
    references: tuple[ReferenceModel, ...]
    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    cost_weight: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        """The embedding length expected."""
        return int(self.weights.shape[0] - 1 - len(FEATURE_NAMES))

    @property
    def tiers(self) -> list[str]:
        """The tiers of the reference models, without repeats, cheapest first."""
        ordered = sorted(self.references, key=lambda ref: ref.cost)
        return list(dict.fromkeys(ref.tier for ref in ordered))

    def inputs(self, embeddings: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Standardised classifier inputs from embeddings (n, dim) and features (n, F)."""
        if embeddings.shape[1] != self.dim:
            raise ConfigError(f"the router classifier expects {self.dim}-d embeddings of "
                              f"{self.embedder!r}, got {embeddings.shape[1]}-d; use the same "
                              "embedding model or retrain with `aios router train`")
        raw = np.hstack([embeddings, features]).astype(np.float32)
        return np.asarray((raw - self.mean) / self.scale)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """P(correct) per reference model, shape (n, len(references))."""
        return _sigmoid(x @ self.weights[:-1] + self.weights[-1])

    def utilities(self, proba: np.ndarray, cost_weight: float | None = None) -> np.ndarray:
        """Expected utility of each reference model (see the module docstring)."""
        costs = np.array([ref.cost for ref in self.references], dtype=np.float64)
        top = costs.max() if costs.max() > 0 else 1.0
        weight = self.cost_weight if cost_weight is None else cost_weight
        return proba - weight * costs / top

    def choose(self, proba: np.ndarray, allowed: Sequence[bool] | None = None,
               cost_weight: float | None = None) -> np.ndarray:
        """Index of the chosen reference model per row (only among `allowed` ones)."""
        utility = self.utilities(proba, cost_weight)
        if allowed is not None:
            mask = np.asarray(allowed, dtype=bool)
            if not mask.any():
                raise ConfigError("no reference model of the router classifier is allowed")
            utility = np.where(mask, utility, -np.inf)
        return np.asarray(utility.argmax(axis=1))

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: Path | str) -> Path:
        """Write the classifier as an `.npz` file (no pickle) and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"format": _FORMAT, "embedder": self.embedder,
                  "references": [ref.__dict__ for ref in self.references],
                  "cost_weight": self.cost_weight, "features": list(FEATURE_NAMES),
                  "info": self.info}
        with path.open("wb") as handle:
            np.savez_compressed(handle, weights=self.weights.astype(np.float32),
                                mean=self.mean.astype(np.float32),
                                scale=self.scale.astype(np.float32),
                                header=np.array(json.dumps(header, default=str)))
        return path

    @classmethod
    def load(cls, path: Path | str) -> TierClassifier:
        """Read a classifier written by `save`.

        Raises:
            ConfigError: the file is missing, unreadable or of another format.
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                weights, mean, scale = data["weights"], data["mean"], data["scale"]
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"cannot read the router classifier {path}: {exc}; train one "
                              "with `aios router train --data DIR --out FILE`") from exc
        if header.get("format") != _FORMAT or header.get("features") != list(FEATURE_NAMES):
            raise ConfigError(f"router classifier {path} was written by another version of "
                              "Ai:oS (format or features differ); retrain it with "
                              "`aios router train`")
        references = tuple(ReferenceModel(**ref) for ref in header["references"])
        return cls(embedder=header["embedder"], references=references,
                   weights=weights.astype(np.float64), mean=mean, scale=scale,
                   cost_weight=float(header["cost_weight"]), info=header.get("info", {}))

    @classmethod
    def packaged(cls) -> TierClassifier | None:
        """The classifier shipped inside the package, or None when there is none."""
        resource = resources.files("aios.routing").joinpath("data", DEFAULT_CLASSIFIER)
        if not resource.is_file():
            return None
        with resources.as_file(resource) as path:
            return cls.load(path)
