"""The exploration rule: which frontier item to explore next (UCB1 over the frontier).

A frontier item is a question the agent may pursue: the mission itself, a sub-question (from
the model or the deterministic fallback), or "what is known about ENTITY" for an entity
found so far. Exploring it once is a *pull*; the knowledge the pull added is its *gain*,
`1 - exp(-units / gain_scale)` in [0, 1), where
`units = new claims + 0.5 new entities + 0.25 corroborations + 0.5 conflicts`.

Before an item is pulled, its value is a prior from three signals, each in [0, 1]:

- **novelty**: the share of the item's best evidence not read yet;
- **uncertainty**: how little (or how contradictory) the graph knows about its entity;
- **relevance**: how close the item, and the passages it would read, are to the mission.

`prior = (w_n novelty + w_u uncertainty + w_r relevance) / (w_n + w_u + w_r)`.
The prior counts as one pseudo-observation, and UCB1 adds the exploration bonus::

    score = (prior + sum of gains) / (1 + n) + c * sqrt(ln(1 + N) / (1 + n))

with `n` the item's pulls and `N` all pulls so far. High `c` explores (tries new items),
low `c` exploits (keeps pulling items that paid). Ties go to the older item, so a mission
is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from aios.discovery.mission import CuriosityConfig

__all__ = ["CuriosityPolicy", "FrontierItem", "information_gain"]


@dataclass
class FrontierItem:
    """A question on the frontier and what pulling it has yielded (mutable run state).

    Attributes:
        id: stable id (`mission`, `q:<slug>`, `e:<entity>`).
        question: the question in words; query: what retrieval searches for.
        origin: `mission`, `model` (a model-proposed sub-question) or `fallback`
            (derived deterministically from the mission or an entity).
        entity: the entity id the item is about, if any.
        created: the step that added it; order: insertion order (the tie-breaker).
        pulls, gain: times explored and the sum of their gains.
        novelty, uncertainty, relevance, prior: the signals as last computed.
        asked: sources (by spec) that have nothing more for it (the model is asked once).
        done: nothing left to learn from any source, or rejected by a human.
    """

    id: str
    question: str
    query: str
    origin: str
    entity: str | None = None
    created: int = 0
    order: int = 0
    pulls: int = 0
    gain: float = 0.0
    novelty: float = 1.0
    uncertainty: float = 1.0
    relevance: float = 0.0
    prior: float = 0.0
    asked: list[str] = field(default_factory=list)
    done: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FrontierItem:
        """The inverse of `to_json`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def information_gain(new_claims: int, new_entities: int, corroborations: int, conflicts: int,
                     scale: float) -> float:
    """A step's gain in [0, 1) from what it added (see the module docstring)."""
    units = new_claims + 0.5 * new_entities + 0.25 * corroborations + 0.5 * conflicts
    return 1.0 - math.exp(-units / scale)


class CuriosityPolicy:
    """UCB1 over frontier items with a curiosity prior (see the module docstring)."""

    def __init__(self, config: CuriosityConfig):
        self.config = config

    def prior(self, novelty: float, uncertainty: float, relevance: float) -> float:
        """The weighted mean of the three signals."""
        cfg = self.config
        total = cfg.w_novelty + cfg.w_uncertainty + cfg.w_relevance
        return (cfg.w_novelty * novelty + cfg.w_uncertainty * uncertainty
                + cfg.w_relevance * relevance) / total

    def score(self, item: FrontierItem, total_pulls: int) -> float:
        """The item's UCB1 score given `total_pulls` pulls over the whole frontier."""
        mean = (item.prior + item.gain) / (1 + item.pulls)
        bonus = self.config.c * math.sqrt(math.log(1 + total_pulls) / (1 + item.pulls))
        return mean + bonus

    def choose(self, items: list[FrontierItem], total_pulls: int) -> FrontierItem | None:
        """The open item with the best score (the oldest on ties), or None."""
        best: FrontierItem | None = None
        best_score = -math.inf
        for item in sorted((i for i in items if not i.done), key=lambda i: i.order):
            value = self.score(item, total_pulls)
            if value > best_score + 1e-12:
                best, best_score = item, value
        return best
