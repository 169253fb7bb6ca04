"""Autonomy levels 0-4: which steps need a human's approval before they run.

| level | asks before                                                     | on "deny"              |
|-------|-----------------------------------------------------------------|------------------------|
| 0     | every step                                                      | the item is dropped    |
| 1     | the first exploration of each sub-question (frontier item)      | the item is dropped    |
| 2     | the first use of each source, and any step whose model calls    | source: not used again;|
|       | may take more than `expensive_tokens` tokens                    | expensive: no model    |
| 3     | continuing once the budget used passes `approval_threshold`     | the mission stops      |
| 4     | nothing: self-directed within the budget                        |                        |

An approval is remembered by its key for the rest of the mission (approving
`source:model` once approves the model source for good). The agent records the pending
request in its checkpoint and raises `ActionSuspended`; `aios discover approve ID`
(or a re-execution by the runtime after the approval layer let it through) grants it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aios.discovery.curiosity import FrontierItem
from aios.discovery.mission import Mission

__all__ = ["RULES", "Approval", "StepPlan", "approval_needed"]


@dataclass(frozen=True)
class StepPlan:
    """What the next step would do, for the approval rules to judge.

    Attributes:
        step: its number (1-based); item: the frontier item it would explore.
        sources: source specs it would use; new_sources: those not used yet this mission.
        est_tokens: an upper estimate of the tokens its model calls may take.
        budget_used: the largest share of any budget used so far (0-1).
    """

    step: int
    item: FrontierItem
    sources: tuple[str, ...]
    new_sources: tuple[str, ...]
    est_tokens: int
    budget_used: float


@dataclass(frozen=True)
class Approval:
    """A request for approval.

    Attributes:
        key: what is approved (remembered for the mission: `step:7`, `question:<id>`,
            `source:model`, `expensive:7`, `budget:threshold`).
        description: what a human is asked, in words.
        on_deny: `drop_item`, `drop_source`, `no_model` or `stop`.
        subject: the item id or source spec the request is about.
    """

    key: str
    description: str
    on_deny: str
    subject: str = ""


Rule = Callable[[Mission, StepPlan], list[Approval]]


def _every_step(mission: Mission, plan: StepPlan) -> list[Approval]:
    return [Approval(f"step:{plan.step}",
                     f"step {plan.step}: explore {plan.item.question!r} using "
                     f"{', '.join(plan.sources)}", "drop_item", plan.item.id)]


def _each_question(mission: Mission, plan: StepPlan) -> list[Approval]:
    if plan.item.pulls:
        return []
    return [Approval(f"question:{plan.item.id}",
                     f"new sub-question ({plan.item.origin}): {plan.item.question!r}",
                     "drop_item", plan.item.id)]


def _sources_and_cost(mission: Mission, plan: StepPlan) -> list[Approval]:
    asks = [Approval(f"source:{spec}", f"use a new source: {spec}", "drop_source", spec)
            for spec in plan.new_sources]
    if plan.est_tokens > mission.expensive_tokens:
        asks.append(Approval(f"expensive:{plan.step}",
                             f"step {plan.step} may use up to {plan.est_tokens} model tokens "
                             f"(more than {mission.expensive_tokens})", "no_model",
                             plan.item.id))
    return asks


def _budget_threshold(mission: Mission, plan: StepPlan) -> list[Approval]:
    if plan.budget_used < mission.approval_threshold:
        return []
    return [Approval("budget:threshold",
                     f"{plan.budget_used:.0%} of the budget is used (threshold "
                     f"{mission.approval_threshold:.0%}); continue the mission?", "stop")]


#: The approval rule of each autonomy level.
RULES: dict[int, Rule] = {
    0: _every_step,
    1: _each_question,
    2: _sources_and_cost,
    3: _budget_threshold,
    4: lambda mission, plan: [],
}


def approval_needed(mission: Mission, plan: StepPlan, approved: set[str]) -> list[Approval]:
    """The approvals the step still needs at the mission's level (none approved yet)."""
    return [a for a in RULES[mission.autonomy](mission, plan) if a.key not in approved]
