"""The approval policy (the manifest's `approvals:` section): who must approve what.

Each criticality has a level policy (low: run at once; medium: run and record for review;
high: one approval; critical: N distinct approvers), with a deadline and what happens when it
passes (reject, or escalate along a chain of approver groups). Ordered rules, first match
wins, override the level for actions matched by glob, agent, `mutates`, forensic mode or the
agent's stated confidence.

This module must not import `aios.manifest`: the manifest schema imports it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from aios.approvals.channels.spec import ChannelSpec, LinkPolicy
from aios.errors import ApprovalDenied, ConfigError

__all__ = [
    "LEVELS",
    "ActionFacts",
    "ApprovalPolicy",
    "ApprovalRule",
    "ApproverGroup",
    "EscalationStage",
    "Level",
    "LevelPolicy",
    "Levels",
    "Mode",
    "OnExpiry",
    "Requirement",
    "Stage",
    "autonomy_gates",
    "duration_seconds",
    "parse_duration",
]

Level = Literal["low", "medium", "high", "critical"]
#: The criticalities from least to most harmful; the index is the queue priority.
LEVELS: tuple[Level, ...] = ("low", "medium", "high", "critical")

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(value: Any) -> Any:
    """`90`, `"90s"`, `"15m"`, `"24h"`, `"7d"`, `"2w"` -> seconds; other values pass through.

    Raises:
        ValueError: a string that is not a number followed by an optional unit.
    """
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration; write seconds (3600) or a number "
                             "with a unit s, m, h, d or w (for example 30m, 24h, 7d)")
        return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return value


def duration_seconds(value: str | float, *, option: str = "duration") -> float:
    """A positive duration in seconds from `value` (`30d`, `12h`, `3600`).

    Raises:
        ConfigError: not a duration, or not positive; the message names `option`.
    """
    try:
        seconds = float(parse_duration(value))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{option}: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{option}: {value!r} is not a positive duration; for example 30d")
    return seconds


#: Seconds, written as a number or as `30m`, `24h`, `7d`.
Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Mode(StrEnum):
    """What the gate does with an action."""

    auto = "auto"  #: run it without asking
    notify = "notify"  #: run it at once and record an approved request for later review
    require = "require"  #: suspend it until enough approvers approve
    deny = "deny"  #: never run it


class OnExpiry(StrEnum):
    """What happens when a request's deadline passes without a decision."""

    reject = "reject"
    escalate = "escalate"


class ApproverGroup(_Frozen):
    """Who may decide: users with one of `roles`, or one of the named `users`."""

    roles: list[Literal["approver", "admin"]] = Field(
        default_factory=list, description="Roles whose users belong to the group.")
    users: list[str] = Field(default_factory=list, description="User names in the group.")

    @model_validator(mode="after")
    def _not_empty(self) -> ApproverGroup:
        if not self.roles and not self.users:
            raise ValueError("an approver group needs `roles` or `users` (or both)")
        return self


class EscalationStage(_Frozen):
    """One step of an escalation chain: who gets the request next, and for how long."""

    to: str = Field(description="The approver group the request escalates to.")
    deadline: Duration = Field(description="Time that group has to decide (30m, 24h, ...).")


class LevelPolicy(_Frozen):
    """How requests of one criticality are handled."""

    mode: Mode = Field(Mode.require, description="auto | notify | require | deny.")
    approvals: int = Field(1, ge=1, le=10, description="Distinct approvers needed.")
    approvers: str = Field("approvers", description="The approver group asked first.")
    deadline: Duration | None = Field(
        86400.0, description="Time to decide (30m, 24h, 7d); null for no deadline.")
    on_expiry: OnExpiry = Field(OnExpiry.reject, description="reject | escalate.")
    escalation: list[EscalationStage] = Field(
        default_factory=list,
        description="Groups asked in turn when the deadline passes (on_expiry: escalate); "
                    "when the last one's deadline passes, the request expires (rejected).")

    @model_validator(mode="after")
    def _escalation_consistent(self) -> LevelPolicy:
        if self.on_expiry is OnExpiry.escalate and not self.escalation:
            raise ValueError("on_expiry: escalate needs an `escalation` list, for example "
                             "escalation: [{to: admins, deadline: 4h}]")
        if self.on_expiry is OnExpiry.escalate and self.deadline is None:
            raise ValueError("on_expiry: escalate needs a `deadline` to escalate after")
        return self


_LEVEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "low": {"mode": "auto"},
    "medium": {"mode": "notify"},
    "high": {"mode": "require", "approvals": 1, "deadline": 86400.0, "on_expiry": "reject"},
    "critical": {"mode": "require", "approvals": 2, "deadline": 14400.0,
                 "on_expiry": "escalate", "escalation": [{"to": "admins", "deadline": 14400.0}]},
}


class Levels(_Frozen):
    """The policy of each criticality; a level given in the manifest overrides its defaults."""

    low: LevelPolicy = Field(default_factory=lambda: LevelPolicy(**_LEVEL_DEFAULTS["low"]),
                             description="Default: auto (run at once).")
    medium: LevelPolicy = Field(
        default_factory=lambda: LevelPolicy(**_LEVEL_DEFAULTS["medium"]),
        description="Default: notify (run at once, recorded for review).")
    high: LevelPolicy = Field(default_factory=lambda: LevelPolicy(**_LEVEL_DEFAULTS["high"]),
                              description="Default: one approval within 24h, else rejected.")
    critical: LevelPolicy = Field(
        default_factory=lambda: LevelPolicy(**_LEVEL_DEFAULTS["critical"]),
        description="Default: two distinct approvers within 4h, then escalated to admins.")

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        # `critical: {deadline: 1h}` keeps the other critical defaults (two approvers, ...).
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for level, defaults in _LEVEL_DEFAULTS.items():
            given = merged.get(level)
            if isinstance(given, dict):
                merged[level] = {**defaults, **given}
        return merged

    def of(self, level: Level) -> LevelPolicy:
        """The policy of `level`."""
        policy: LevelPolicy = getattr(self, level)
        return policy


class ApprovalRule(_Frozen):
    """A rule: when every given matcher matches, its effect replaces the level's policy."""

    description: str = Field("", description="Why the rule exists.")
    action: str | None = Field(None, description="Glob on `agent.key` (storage.*, *.delete_*).")
    agent: str | None = Field(None, description="Glob on the agent name.")
    criticality: list[Level] | None = Field(None, description="Declared criticalities.")
    mutates: bool | None = Field(None, description="Match only (non-)mutating actions.")
    forensic: bool | None = Field(None, description="Match only in (or out of) forensic mode.")
    confidence_below: float | None = Field(
        None, gt=0, le=1,
        description="Match when the agent states a confidence below this (0-1); an action "
                    "with no stated confidence does not match.")
    when: str | None = Field(
        None, description="A CEL condition over `args` (the effective arguments), "
                          "`confidence` (null when not stated) and `ctx` (run_id, action, "
                          "agent, env, ...), for example `args.count > 100`; checked at load.")
    level: Level | None = Field(None, description="Handle the action as this criticality.")
    mode: Mode | None = Field(None, description="Override the mode.")
    approvals: int | None = Field(None, ge=1, le=10, description="Override approvals needed.")
    approvers: str | None = Field(None, description="Override the first approver group.")
    deadline: Duration | None = Field(None, description="Override the deadline.")

    @field_validator("when")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            from aios.approvals.conditions import compile_condition

            compile_condition(value)  # ValueError with CEL's message and column
        return value

    @model_validator(mode="after")
    def _has_effect(self) -> ApprovalRule:
        if all(getattr(self, f) is None
               for f in ("level", "mode", "approvals", "approvers", "deadline")):
            raise ValueError("a rule needs an effect: level, mode, approvals, approvers or "
                             "deadline")
        return self

    def matches(self, facts: ActionFacts) -> bool:
        """True when every matcher this rule sets matches `facts`."""
        if self.action is not None and not fnmatchcase(facts.action, self.action):
            return False
        if self.agent is not None and not fnmatchcase(facts.agent, self.agent):
            return False
        if self.criticality is not None and facts.criticality not in self.criticality:
            return False
        if self.mutates is not None and facts.mutates != self.mutates:
            return False
        if self.forensic is not None and facts.forensic != self.forensic:
            return False
        if self.confidence_below is not None and not (
                facts.confidence is not None and facts.confidence < self.confidence_below):
            return False
        if self.when is not None:
            from aios.approvals.conditions import evaluate_condition, variables_of

            return evaluate_condition(self.when, variables_of(
                facts.args, facts.confidence, {**facts.context, "action": facts.action,
                                               "agent": facts.agent,
                                               "criticality": facts.criticality,
                                               "mutates": facts.mutates,
                                               "forensic": facts.forensic}))
        return True


def _default_groups() -> dict[str, ApproverGroup]:
    return {"approvers": ApproverGroup(roles=["approver", "admin"]),
            "admins": ApproverGroup(roles=["admin"])}


@dataclass(frozen=True)
class ActionFacts:
    """What the policy looks at to decide about one call."""

    action: str
    criticality: Level
    mutates: bool
    forensic: bool = False
    confidence: float | None = None
    args: Mapping[str, Any] = field(default_factory=dict)  #: the effective arguments
    context: Mapping[str, Any] = field(default_factory=dict)  #: run_id, step_id, env
    #: The calling agent's autonomy level (0-4; None: not an agent's call, as 4).
    autonomy: int | None = None

    @property
    def agent(self) -> str:
        """The agent part of `action`."""
        return self.action.partition(".")[0]


@dataclass(frozen=True)
class Stage:
    """One approver group of a request's route, resolved to roles and users."""

    group: str
    roles: tuple[str, ...]
    users: tuple[str, ...]
    deadline: float | None

    def admits(self, name: str, role: str) -> bool:
        """True when the user `name` with `role` belongs to this stage's group."""
        return name in self.users or role in self.roles

    def to_json(self) -> dict[str, Any]:
        """As stored on the request."""
        return {"group": self.group, "roles": list(self.roles), "users": list(self.users),
                "deadline": self.deadline}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stage:
        """From the stored form."""
        return cls(str(data["group"]), tuple(data.get("roles", ())),
                   tuple(data.get("users", ())), data.get("deadline"))


@dataclass(frozen=True)
class Requirement:
    """The policy's verdict on one call.

    Attributes:
        mode: auto, notify, require or deny.
        level: the criticality the call is handled as.
        approvals: distinct approvers needed.
        route: the first approver group, then each escalation stage.
        rule: the index of the rule that matched, or None for the level's own policy.
    """

    mode: Mode
    level: Level
    approvals: int
    route: tuple[Stage, ...]
    rule: int | None = None

    @property
    def priority(self) -> int:
        """Queue priority: 3 for critical down to 0 for low."""
        return LEVELS.index(self.level)


#: Per autonomy level 1-3, the least criticality at which a mutating call needs approval.
_AUTONOMY_THRESHOLD: dict[int, Level] = {1: "low", 2: "medium", 3: "high"}


def autonomy_gates(facts: ActionFacts) -> bool:
    """True when the agent's autonomy level alone requires an approval for this call.

    0: every call; 1-3: mutating calls at or above low / medium / high criticality;
    4 or None: never (the policy alone decides).
    """
    level = facts.autonomy
    if level is None or level >= 4:
        return False
    if level <= 0:
        return True
    return facts.mutates and \
        LEVELS.index(facts.criticality) >= LEVELS.index(_AUTONOMY_THRESHOLD[level])


class ApprovalPolicy(_Frozen):
    """The manifest's `approvals:` section."""

    wait_seconds: float = Field(
        0.0, ge=0, le=3600,
        description="Seconds a run waits in-process for a decision before it is suspended "
                    "(`waiting`; `aios runs resume` continues it). 0: suspend at once.")
    groups: dict[str, ApproverGroup] = Field(
        default_factory=_default_groups,
        description="Approver groups by name; `approvers` (roles approver, admin) and "
                    "`admins` (role admin) exist unless redefined.")
    levels: Levels = Field(default_factory=Levels, description="Policy per criticality.")
    rules: list[ApprovalRule] = Field(
        default_factory=list, description="Ordered rules; the first that matches applies.")
    mask_arguments: bool = Field(
        True, description="Store approval requests with secrets and personal data in the "
                          "arguments masked (the guardrails' detectors); execution takes the "
                          "real values from the run, never from the request.")
    channels: list[ChannelSpec] = Field(
        default_factory=list,
        description="Where requests, escalations, expiries and outcomes are delivered: "
                    "`{type: webhook, url: ..., secret_env: HOOK_SECRET}`, `{type: email, "
                    "host: ..., from: ..., to: [...]}`.")
    links: LinkPolicy = Field(default_factory=LinkPolicy,
                              description="The dashboard address messages link to, and the "
                                          "lifetime of one-click links.")

    @model_validator(mode="before")
    @classmethod
    def _merge_groups(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("groups"), dict):
            defaults = {"approvers": {"roles": ["approver", "admin"]},
                        "admins": {"roles": ["admin"]}}
            data = {**data, "groups": {**defaults, **data["groups"]}}
        return data

    @model_validator(mode="after")
    def _groups_exist(self) -> ApprovalPolicy:
        known = ", ".join(sorted(self.groups))
        refs: list[tuple[str, str]] = []
        for level in LEVELS:
            policy = self.levels.of(level)
            refs.append((f"levels.{level}.approvers", policy.approvers))
            refs += [(f"levels.{level}.escalation.{i}.to", stage.to)
                     for i, stage in enumerate(policy.escalation)]
        refs += [(f"rules.{i}.approvers", rule.approvers) for i, rule in enumerate(self.rules)
                 if rule.approvers is not None]
        for where, group in refs:
            if group not in self.groups:
                raise ValueError(f"{where}: unknown approver group {group!r}; define it under "
                                 f"approvals.groups (known: {known})")
        return self

    def _stage(self, group: str, deadline: float | None) -> Stage:
        spec = self.groups[group]
        return Stage(group, tuple(spec.roles), tuple(spec.users), deadline)

    def _matches(self, index: int, facts: ActionFacts) -> bool:
        try:
            return self.rules[index].matches(facts)
        except ConfigError as exc:  # a `when:` that cannot be evaluated: fail closed
            raise ApprovalDenied(f"{facts.action} is denied: approvals.rules[{index}] could "
                                 f"not decide it ({exc}); fix that rule's `when:`") from None

    def evaluate(self, facts: ActionFacts) -> Requirement:
        """What must happen before the call described by `facts` may run."""
        matched = next((i for i, rule in enumerate(self.rules) if self._matches(i, facts)),
                       None)
        rule = self.rules[matched] if matched is not None else None
        level: Level = rule.level if rule and rule.level else facts.criticality
        base = self.levels.of(level)
        mode = rule.mode if rule and rule.mode else base.mode
        approvals = rule.approvals if rule and rule.approvals else base.approvals
        first = rule.approvers if rule and rule.approvers else base.approvers
        deadline = rule.deadline if rule and rule.deadline else base.deadline
        if mode in (Mode.auto, Mode.notify) and autonomy_gates(facts):
            mode = Mode.require  # autonomy only ever raises the gate
        route = [self._stage(first, deadline)]
        if base.on_expiry is OnExpiry.escalate and deadline is not None:
            route += [self._stage(s.to, s.deadline) for s in base.escalation]
        return Requirement(mode, level, approvals, tuple(route), matched)
