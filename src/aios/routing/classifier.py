"""The complexity classifier: which tier of model is enough for a prompt.

Two small linear models (numpy; scipy's L-BFGS only when training) on the prompt's embedding
plus the request features, each with one output per *reference model* of the training data
(for RouterBench: GPT-4, Claude, Mixtral, ...), each reference belonging to a tier:

* a logistic regression: the probability that the reference model answers correctly;
* a ridge regression on log cost: what the reference model would spend on this prompt (long
  prompts and prompts that draw long answers, such as code, cost more).

The decision is the reference model with the best expected utility (a willingness-to-pay rule)

    p_correct(model) - cost_weight * predicted_cost(model) / mean cost of the dearest reference

and the answer is its tier. `cost_weight` is set when training (`aios router train`): the
cheapest spend whose cross-validated accuracy reaches the quality target (see `training`).

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
_FORMAT = 2


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
        weights: (dim + features + 1, len(references)) logistic weights, biases last.
        mean, scale: input standardisation.
        cost_weight: the utility's cost weight (see the module docstring).
        info: training facts (data, split, scores), shown by `aios router show`.
        cost_model: (dim + features + 1, len(references)) weights of log cost (USD), biases
            last; None: every prompt costs the reference's mean cost.
    """

    embedder: str
    references: tuple[ReferenceModel, ...]
    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    cost_weight: float
    info: dict[str, Any] = field(default_factory=dict)
    cost_model: np.ndarray | None = None

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

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        """`inputs` from raw rows (embedding then features, `decision.request_inputs`)."""
        return self.inputs(raw[:, :self.dim], raw[:, self.dim:])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """P(correct) per reference model, shape (n, len(references))."""
        return _sigmoid(x @ self.weights[:-1] + self.weights[-1])

    def predict_cost(self, x: np.ndarray) -> np.ndarray:
        """Expected USD per reference model, shape (n, len(references)), from `inputs`."""
        if self.cost_model is None:
            means = np.array([ref.cost for ref in self.references], dtype=np.float64)
            return np.asarray(np.broadcast_to(means, (x.shape[0], len(means))))
        log_cost = x @ self.cost_model[:-1] + self.cost_model[-1]
        return np.asarray(np.exp(np.clip(log_cost, -50.0, 50.0)))

    @property
    def cost_unit(self) -> float:
        """The mean cost of the dearest reference model (USD), the utility's cost unit."""
        top = max((ref.cost for ref in self.references), default=0.0)
        return top if top > 0 else 1.0

    def utilities(self, proba: np.ndarray, costs: np.ndarray,
                  cost_weight: float | None = None) -> np.ndarray:
        """Expected utility of each reference model (see the module docstring)."""
        weight = self.cost_weight if cost_weight is None else cost_weight
        return np.asarray(proba - weight * costs / self.cost_unit)

    def choose(self, proba: np.ndarray, costs: np.ndarray,
               allowed: Sequence[bool] | None = None,
               cost_weight: float | None = None) -> np.ndarray:
        """Index of the chosen reference model per row (only among `allowed` ones).

        Args:
            proba: `predict_proba` output.
            costs: `predict_cost` output.
            allowed: per reference, whether it may be chosen (default: all).
            cost_weight: overrides the trained cost weight.
        """
        utility = self.utilities(proba, costs, cost_weight)
        if allowed is not None:
            mask = np.asarray(allowed, dtype=bool)
            if not mask.any():
                raise ConfigError("no reference model of the router classifier is allowed")
            utility = np.where(mask, utility, -np.inf)
        return np.asarray(utility.argmax(axis=1))

    def decide(self, x: np.ndarray, allowed: Sequence[bool] | None = None,
               cost_weight: float | None = None) -> np.ndarray:
        """The routing decision: index of the reference model chosen per row of `x`.

        The one decision function: `aios router evaluate`, training's held-out report and
        the deployed `Router.route` all call it, so what is measured is what is served.

        Args:
            x: standardised inputs (`inputs`).
            allowed: per reference, whether a configured model corresponds to it.
            cost_weight: overrides the trained cost weight (to trace the cost-quality curve).
        """
        return self.choose(self.predict_proba(x), self.predict_cost(x), allowed, cost_weight)

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: Path | str) -> Path:
        """Write the classifier as an `.npz` file (no pickle) and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"format": _FORMAT, "embedder": self.embedder,
                  "references": [ref.__dict__ for ref in self.references],
                  "cost_weight": self.cost_weight, "features": list(FEATURE_NAMES),
                  "info": self.info}
        arrays: dict[str, Any] = {
            "weights": self.weights.astype(np.float32), "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "header": np.array(json.dumps(header, default=str))}
        if self.cost_model is not None:
            arrays["cost_model"] = self.cost_model.astype(np.float32)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)
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
                cost_model = data["cost_model"] if "cost_model" in data.files else None
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"cannot read the router classifier {path}: {exc}; train one "
                              "with `aios router train FILE... --out FILE`") from exc
        if header.get("format") != _FORMAT or header.get("features") != list(FEATURE_NAMES):
            raise ConfigError(f"router classifier {path} was written by another version of "
                              "Ai:oS (format or features differ); retrain it with "
                              "`aios router train`")
        references = tuple(ReferenceModel(**ref) for ref in header["references"])
        return cls(embedder=header["embedder"], references=references,
                   weights=weights.astype(np.float64), mean=mean, scale=scale,
                   cost_weight=float(header["cost_weight"]), info=header.get("info", {}),
                   cost_model=None if cost_model is None else cost_model.astype(np.float64))

    @classmethod
    def packaged(cls) -> TierClassifier | None:
        """The classifier shipped inside the package, or None when there is none."""
        resource = resources.files("aios.routing").joinpath("data", DEFAULT_CLASSIFIER)
        if not resource.is_file():
            return None
        with resources.as_file(resource) as path:
            return cls.load(path)
