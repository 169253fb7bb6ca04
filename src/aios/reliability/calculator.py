"""The reliability calculator: how per-step success compounds over a sequence.

Twenty steps at 95 % each succeed end to end 35.8 % of the time; reaching 90 % end to end over
twenty steps takes 99.47 % per step. `measure` reads what actually happened (the store's
`step_events`), gives each action's success rate with a binomial confidence interval (scipy's
`binomtest(...).proportion_ci`, Wilson score by default), predicts each sequence's
end-to-end success as the product over its critical steps, and names the weakest steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select

from aios.errors import ConfigError
from aios.store.engine import Store
from aios.store.tables import step_events

if TYPE_CHECKING:  # the manifest schema imports aios.reliability.policy
    from aios.manifest.schema import Sequence

__all__ = ["ActionRate", "MeasuredReport", "SequenceForecast", "end_to_end", "measure",
           "required_per_step", "success_interval"]

#: Final step states that count: a skipped, cancelled or waiting step neither succeeded
#: nor failed at its own job.
_COUNTED = ("succeeded", "failed")

Method = Literal["wilson", "exact", "wilsoncc"]


def _probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a probability between 0 and 1 (95% is 0.95), "
                          f"got {value}")


def _steps(steps: int) -> None:
    if steps < 1:
        raise ConfigError(f"--steps must be at least 1, got {steps}")


def end_to_end(per_step: float, steps: int) -> float:
    """The chance that `steps` independent steps, each succeeding with `per_step`, all do."""
    _probability("--per-step", per_step)
    _steps(steps)
    return float(per_step ** steps)


def required_per_step(target: float, steps: int) -> float:
    """The per-step success rate that makes `steps` steps succeed end to end with `target`."""
    _probability("--target", target)
    _steps(steps)
    return float(target ** (1.0 / steps))


def success_interval(successes: int, trials: int, *, confidence: float = 0.95,
                     method: Method = "wilson") -> tuple[float, float]:
    """A confidence interval of a success rate (scipy: Wilson score, or exact Clopper-Pearson).

    Raises:
        ConfigError: scipy is missing (the message has the install line), or bad counts.
    """
    if trials < 1 or not 0 <= successes <= trials:
        raise ConfigError(f"need 0 <= successes <= trials and trials >= 1, got "
                          f"{successes}/{trials}")
    try:
        from scipy.stats import binomtest
    except ImportError as exc:
        raise ConfigError("the reliability calculator needs scipy for confidence intervals; "
                          "install it with: pip install 'aios[reliability]'") from exc
    ci = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method=method)
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class ActionRate:
    """Observed outcomes of one action.

    Attributes:
        action: `agent.key`.
        succeeded, failed: final step states counted.
        rate: succeeded / (succeeded + failed).
        low, high: the confidence interval of the rate.
    """

    action: str
    succeeded: int
    failed: int
    rate: float
    low: float
    high: float

    @property
    def trials(self) -> int:
        """Steps that ended succeeded or failed."""
        return self.succeeded + self.failed


@dataclass(frozen=True)
class SequenceForecast:
    """A sequence's predicted end-to-end success, from its steps' observed rates.

    Attributes:
        sequence: its name.
        success: the product of its critical steps' rates (None when a step has no data).
        low, high: the products of the interval bounds (a conservative range).
        steps: its critical steps' actions, in order.
        unmeasured: critical steps' actions with no recorded outcome.
        weakest: up to three actions with the lowest rate, worst first.
    """

    sequence: str
    success: float | None
    low: float | None
    high: float | None
    steps: tuple[str, ...]
    unmeasured: tuple[str, ...] = ()
    weakest: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeasuredReport:
    """Everything `aios reliability --measured` shows."""

    since: datetime | None
    confidence: float
    method: str
    actions: dict[str, ActionRate] = field(default_factory=dict)
    sequences: list[SequenceForecast] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "since": self.since.isoformat() if self.since else None,
            "confidence": self.confidence, "method": self.method,
            "actions": {name: {"succeeded": r.succeeded, "failed": r.failed, "rate": r.rate,
                               "low": r.low, "high": r.high}
                        for name, r in self.actions.items()},
            "sequences": [{"sequence": s.sequence, "success": s.success, "low": s.low,
                           "high": s.high, "steps": list(s.steps),
                           "unmeasured": list(s.unmeasured), "weakest": list(s.weakest)}
                          for s in self.sequences],
        }


async def _final_states(store: Store, since: datetime | None) -> dict[str, dict[str, int]]:
    """{action: {status: count}} over each step's LAST event (one row per state change)."""
    last = select(func.max(step_events.c.id).label("id")).group_by(
        step_events.c.run_id, step_events.c.step_id)
    if since is not None:
        last = last.where(step_events.c.at >= since)
    latest = last.subquery()
    query = (select(step_events.c.action, step_events.c.status, func.count())
             .join(latest, step_events.c.id == latest.c.id)
             .where(step_events.c.status.in_(_COUNTED))
             .group_by(step_events.c.action, step_events.c.status))
    counts: dict[str, dict[str, int]] = {}
    async with store.engine.connect() as conn:
        for action, status, count in (await conn.execute(query)).all():
            counts.setdefault(action, {})[status] = int(count)
    return counts


def _forecast(name: str, actions: list[str], rates: Mapping[str, ActionRate]) -> SequenceForecast:
    measured = [rates[a] for a in actions if a in rates]
    unmeasured = tuple(a for a in actions if a not in rates)
    weakest = tuple(r.action for r in sorted({r.action: r for r in measured}.values(),
                                             key=lambda r: (r.rate, r.low))[:3])
    if unmeasured or not measured:
        return SequenceForecast(name, None, None, None, tuple(actions), unmeasured, weakest)
    return SequenceForecast(name, math.prod(r.rate for r in measured),
                            math.prod(r.low for r in measured),
                            math.prod(r.high for r in measured), tuple(actions), (), weakest)


async def measure(store: Store, sequences: Mapping[str, Sequence], *,
                  since: datetime | None = None, confidence: float = 0.95,
                  method: Method = "wilson") -> MeasuredReport:
    """Observed success per action and predicted end-to-end success per sequence.

    Args:
        store: where the step events are.
        sequences: the manifest's `sequences:`, forecast (only their critical steps can fail
            a run).
        since: only steps whose last state change is at or after this time.
        confidence: the confidence level of the intervals.
        method: `wilson` (Wilson score), `exact` (Clopper-Pearson) or `wilsoncc`.
    """
    _probability("--confidence", confidence)
    counts = await _final_states(store, since)
    rates: dict[str, ActionRate] = {}
    for action in sorted(counts):
        ok, bad = counts[action].get("succeeded", 0), counts[action].get("failed", 0)
        low, high = success_interval(ok, ok + bad, confidence=confidence, method=method)
        rates[action] = ActionRate(action, ok, bad, ok / (ok + bad), low, high)
    forecasts = [_forecast(name, [s.action for s in seq.steps if s.critical], rates)
                 for name, seq in sequences.items()]
    return MeasuredReport(since, confidence, method, rates, forecasts)
