"""A mission's run state (what a checkpoint holds besides the graph) and its reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from aios.discovery.curiosity import FrontierItem

__all__ = ["MissionResult", "MissionState", "StepRecord"]


@dataclass
class MissionState:
    """Everything needed to continue a mission, saved after every step.

    Attributes:
        step: steps completed.
        frontier: items by id (insertion order is the tie-breaker).
        open_questions: questions for which no source had any evidence.
        approved, denied: approval keys decided so far; pending: requests waiting.
        used_sources, disabled_sources: source specs used so far / denied by a human.
        usage: `tokens`, `usd`, `seconds` (stepping wall time) and `model_calls`.
        stale: consecutive steps that added no claim and no entity.
        planner: counts of model proposals (`calls`, `proposed`, `accepted`, `rejected`)
            and of fallback items.
        extractors: per extractor: `claims`, `proposed`, `dropped`, `calls`.
    """

    step: int = 0
    frontier: dict[str, FrontierItem] = field(default_factory=dict)
    open_questions: list[dict[str, Any]] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    used_sources: list[str] = field(default_factory=list)
    disabled_sources: list[str] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=lambda: {
        "tokens": 0, "usd": 0.0, "seconds": 0.0, "model_calls": 0})
    stale: int = 0
    planner: dict[str, int] = field(default_factory=lambda: {
        "calls": 0, "proposed": 0, "accepted": 0, "rejected": 0, "fallback_items": 0})
    extractors: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total_pulls(self) -> int:
        """Pulls over the whole frontier."""
        return sum(item.pulls for item in self.frontier.values())

    def add_item(self, item: FrontierItem) -> bool:
        """Add `item` unless an item with its id exists; True when added."""
        if item.id in self.frontier:
            return False
        item.order = len(self.frontier)
        self.frontier[item.id] = item
        return True

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["frontier"] = [item.to_json() for item in self.frontier.values()]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MissionState:
        """The inverse of `to_json`."""
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        items = [FrontierItem.from_json(i) for i in data.get("frontier", [])]
        values["frontier"] = {i.id: i for i in sorted(items, key=lambda i: i.order)}
        return cls(**values)


@dataclass(frozen=True)
class StepRecord:
    """One completed step: the durable trace of what the agent did and what it cost."""

    step: int
    item: str
    question: str
    origin: str
    score: float
    sources: tuple[str, ...]
    passages: tuple[str, ...]
    claims_found: int
    new_claims: int
    new_entities: int
    corroborations: int
    conflicts: int
    gain: float
    claims_total: int
    entities_total: int
    tokens: int
    cost_usd: float
    duration_s: float
    model_calls: tuple[dict[str, Any], ...] = ()
    open_question: bool = False
    planned: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class MissionResult:
    """How a mission run ended (or paused).

    Attributes:
        status: `stopped` (a stop condition was met), `waiting` (for an approval),
            `interrupted`, `failed`.
        stop_reason: why it stopped, in words.
        pending: the approval requests it waits for.
    """

    mission_id: str
    status: str
    stop_reason: str | None
    steps: int
    claims: int
    entities: int
    graph: str
    usage: dict[str, float]
    open_questions: int
    pending: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)
