"""A mission's configuration: what to find out, from where, within which budget, how freely.

Frozen pydantic models: the agent reads them and never stores run state on them; a mission's
configuration is saved with it, so `--resume` continues with the same policy.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aios.errors import ConfigError

__all__ = ["Budget", "CuriosityConfig", "Mission", "build_mission"]


class Budget(BaseModel):
    """Limits on one mission; the agent stops at the first one reached (None: no limit).

    Steps and wall time count across resumes: a mission resumed after 5 steps with
    `steps=8` runs 3 more.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: int | None = Field(default=40, gt=0, description="Exploration steps at most.")
    tokens: int | None = Field(default=None, gt=0,
                               description="LLM tokens (input + output) at most.")
    usd: float | None = Field(default=None, gt=0, description="LLM spend in USD at most.")
    seconds: float | None = Field(default=None, gt=0,
                                  description="Wall time spent stepping, in seconds, at most.")

    def fraction_used(self, steps: int, tokens: int, usd: float, seconds: float) -> float:
        """The largest share of any limit used so far (0 when nothing is limited)."""
        shares = [used / limit for used, limit in ((steps, self.steps), (tokens, self.tokens),
                                                   (usd, self.usd), (seconds, self.seconds))
                  if limit]
        return max(shares, default=0.0)


class CuriosityConfig(BaseModel):
    """The exploration rule's parameters (see `aios.discovery.curiosity`).

    An unexplored frontier item's prior value is
    `w_novelty * novelty + w_uncertainty * uncertainty + w_relevance * relevance`
    (normalised by the weights' sum); its score is UCB1:
    `(prior + sum of observed gains) / (1 + n) + c * sqrt(ln(1 + N) / (1 + n))`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    c: float = Field(default=0.3, ge=0, description="Exploration constant of the UCB1 bonus.")
    w_novelty: float = Field(default=1.0, ge=0,
                             description="Weight of novelty: share of unread evidence.")
    w_uncertainty: float = Field(default=0.5, ge=0,
                                 description="Weight of uncertainty: low-confidence or "
                                             "conflicting knowledge about the item.")
    w_relevance: float = Field(default=1.5, ge=0,
                               description="Weight of relevance: similarity to the mission.")
    gain_scale: float = Field(default=4.0, gt=0,
                              description="Knowledge units at which a step's gain is 1-1/e.")

    @field_validator("w_relevance")
    @classmethod
    def _some_weight(cls, value: float, info: Any) -> float:
        if value + info.data.get("w_novelty", 0) + info.data.get("w_uncertainty", 0) <= 0:
            raise ValueError("at least one of w_novelty, w_uncertainty, w_relevance must be > 0")
        return value


class Mission(BaseModel):
    """What a discovery mission is after and how it may go about it.

    Autonomy levels (each level asks for fewer approvals; see `aios.discovery.autonomy`):
    0 every step; 1 each new sub-question; 2 new sources and expensive steps; 3 once, when
    the budget used passes `approval_threshold`; 4 never.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str = Field(min_length=3, description="The mission, in plain words.")
    sources: tuple[str, ...] = Field(min_length=1, description=(
        "Where to look: `corpus:PATH` (a directory or file of .txt/.md/.html/.pdf) and/or "
        "`model` (the LLM gateway; its claims cite the model call)."))
    budget: Budget = Field(default_factory=Budget, description="When to stop at the latest.")
    autonomy: int = Field(default=4, ge=0, le=4, description="0-4: how much needs approval.")
    approval_threshold: float = Field(default=0.5, gt=0, le=1, description=(
        "Level 3: the share of the budget after which continuing needs one approval."))
    expensive_tokens: int = Field(default=2000, gt=0, description=(
        "Level 2: a step whose model calls may use more tokens than this needs approval."))
    patience: int = Field(default=4, gt=0, description=(
        "Stop after this many consecutive steps that add no claim and no entity."))
    curiosity: CuriosityConfig = Field(default_factory=CuriosityConfig,
                                       description="The exploration rule's parameters.")
    extractors: tuple[Literal["pattern", "model"], ...] = Field(
        default=("pattern",), min_length=1,
        description="Claim extractors run on each passage: `pattern` and/or `model`.")
    planner: Literal["model", "fallback"] = Field(default="fallback", description=(
        "Sub-questions from the model (validated, with the deterministic fallback when it "
        "yields none) or only from the deterministic fallback (entities found so far)."))
    passages_per_step: int = Field(default=2, gt=0, description="Passages read per step.")
    passage_chars: int = Field(default=300, ge=50, description="Passage size in characters.")
    merge_threshold: float = Field(default=0.9, gt=0, le=1, description=(
        "Cosine similarity a new mention needs with an entity's name and every alias to merge."))
    min_similarity: float = Field(default=0.35, ge=0, le=1, description=(
        "Embedding similarity below which a passage without shared terms is not evidence."))
    model_confidence: float = Field(default=0.3, gt=0, le=1, description=(
        "Confidence of a claim the model states without a passage (lower than read claims)."))
    graph: str | None = Field(default=None, description=(
        "Name of a knowledge graph to extend; documents it has read are not read again."))
    max_tokens: int = Field(default=256, gt=0, description="Output cap of each model call.")

    @field_validator("sources")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from aios.discovery.sources import SOURCES

        for spec in value:
            kind = spec.partition(":")[0]
            if kind not in SOURCES:
                raise ValueError(f"unknown source kind {kind!r} in {spec!r}; known kinds: "
                                 f"{', '.join(sorted(SOURCES))} (corpus:PATH, model)")
            if kind == "corpus" and not spec.partition(":")[2]:
                raise ValueError("source 'corpus' needs a path: corpus:PATH")
        return value


def build_mission(**fields: Any) -> Mission:
    """A validated `Mission`, or a `ConfigError` naming each bad field and how to fix it."""
    try:
        return Mission.model_validate(fields)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "mission"
            message = error["msg"].removeprefix("Value error, ")
            hint = (f"; on the command line: --budget-{error['loc'][1]}"
                    if len(error["loc"]) == 2 and error["loc"][0] == "budget" else "")
            problems.append(f"{where}: {message} (got {error.get('input')!r}{hint})")
        raise ConfigError("invalid discovery mission: " + "; ".join(problems)) from exc
