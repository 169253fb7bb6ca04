"""Latency estimates per model, for the latency-budget routing policy.

Estimated latency = time to first token + output tokens / decode speed. The figures come from
what the gateway observed (`observe`, an exponentially weighted mean), else from the model's
declared `params` (`ttft_s`, `tokens_per_s`), else from a per-tier prior.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aios.llm.types import ModelInfo

__all__ = ["TIER_PRIORS", "LatencyEstimator", "LatencyProfile"]


@dataclass(frozen=True)
class LatencyProfile:
    """Time to first token (s) and decode speed (tokens/s)."""

    ttft_s: float
    tokens_per_s: float

    def seconds(self, output_tokens: int) -> float:
        """Estimated wall time of a call producing `output_tokens`."""
        return self.ttft_s + output_tokens / max(self.tokens_per_s, 1e-6)


#: Priors when a model declares nothing and was never observed: small models start and
#: decode faster. Typical hosted-API figures; any observation replaces them.
TIER_PRIORS = {
    "simple": LatencyProfile(0.4, 120.0),
    "medium": LatencyProfile(0.6, 70.0),
    "complex": LatencyProfile(1.0, 40.0),
}


class LatencyEstimator:
    """Keeps per-model latency profiles, learning from observed calls.

    Args:
        alpha: weight of a new observation in the running mean (0 < alpha <= 1).
    """

    def __init__(self, alpha: float = 0.2):
        self.alpha = alpha
        self._observed: dict[str, LatencyProfile] = {}
        self._lock = threading.Lock()

    def observe(self, model: str, *, latency_s: float, output_tokens: int,
                ttft_s: float | None = None) -> None:
        """Record one finished call of `model` (the gateway calls this after each call)."""
        if latency_s <= 0:
            return
        ttft = ttft_s if ttft_s is not None else min(latency_s * 0.2, latency_s)
        decode = max(latency_s - ttft, 1e-3)
        speed = output_tokens / decode if output_tokens > 0 else None
        with self._lock:
            old = self._observed.get(model)
            if old is None:
                self._observed[model] = LatencyProfile(ttft, speed or 50.0)
                return
            a = self.alpha
            self._observed[model] = LatencyProfile(
                (1 - a) * old.ttft_s + a * ttft,
                old.tokens_per_s if speed is None else (1 - a) * old.tokens_per_s + a * speed)

    def profile(self, model: ModelInfo) -> tuple[LatencyProfile, str]:
        """The profile used for `model` and where it came from (`observed`, `declared`,
        `tier prior`)."""
        with self._lock:
            seen = self._observed.get(model.name)
        if seen is not None:
            return seen, "observed"
        prior = TIER_PRIORS.get(model.tier, TIER_PRIORS["medium"])
        ttft = model.params.get("ttft_s")
        speed = model.params.get("tokens_per_s")
        if ttft is not None or speed is not None:
            return LatencyProfile(float(ttft if ttft is not None else prior.ttft_s),
                                  float(speed if speed is not None else prior.tokens_per_s)
                                  ), "declared"
        return prior, "tier prior"

    def estimate(self, model: ModelInfo, output_tokens: int) -> float:
        """Estimated seconds for a call of `model` producing `output_tokens`."""
        return self.profile(model)[0].seconds(output_tokens)
