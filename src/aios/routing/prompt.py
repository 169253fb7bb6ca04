"""`aios prompt`'s plan: which calls a request makes, with every argument and its source.

Two ways to plan a request:

- **the agent loop**, when the manifest has a model-driven agent (one that declares `model`,
  `instructions` or `tools`) or `--agent` names one: its model chooses the calls, held to the
  request (`aios.runtime.grounded_tools`); `agent_calls` reads the plan back from the
  conversation;
- **the matcher** otherwise (or with `--no-model`): each clause matched to an action
  (`IntentMatcher`), its arguments read from the clause (`plan_arguments`).

Either way each argument says where it came from, and a mutating call whose required
argument the request does not give is refused with the argument named (`refusal`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aios.errors import ConfigError, NotFoundError
from aios.routing.arguments import ArgValue, ground, plan_arguments, refusal
from aios.routing.intent import IntentPlan

if TYPE_CHECKING:  # the manifest schema imports aios.routing.spec
    from aios.manifest.schema import Manifest

__all__ = ["PlannedCall", "agent_calls", "choose_agent", "matched_calls", "model_driven"]


@dataclass(frozen=True)
class PlannedCall:
    """One call of a request's plan.

    Attributes:
        action: `agent.key`.
        args: every argument with its source (see `aios.routing.arguments`).
        clause: the clause it answers (matcher plans; None for the agent loop's calls).
        refused: why it may not run (None: it may).
        status: what became of it (the agent loop's record; None before anything ran).
    """

    action: str
    args: dict[str, ArgValue]
    clause: str | None = None
    refused: str | None = None
    status: str | None = None

    @property
    def run_args(self) -> dict[str, Any]:
        """The arguments to run it with: the request's values and the defaults shown."""
        return {k: v.value for k, v in self.args.items() if v.source in ("request", "default")}

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {"action": self.action, "clause": self.clause,
                "args": {k: v.as_dict() for k, v in self.args.items()},
                "refused": self.refused, "status": self.status}


def model_driven(manifest: Manifest) -> list[str]:
    """Agents a model drives: those that declare `model`, `instructions` or `tools`."""
    return [name for name, spec in manifest.agents.items()
            if spec.model is not None or spec.instructions or spec.tools is not None]


def choose_agent(manifest: Manifest, plan: IntentPlan | None, named: str | None) -> str | None:
    """The agent whose loop plans the request, or None for the matcher.

    `named` (`--agent`) wins; else the only model-driven agent; else, of several, the only one
    whose tools include every action the matcher found.

    Raises:
        NotFoundError: `named` is not an agent of the manifest.
        ConfigError: several model-driven agents could take the request.
    """
    if named is not None:
        if named not in manifest.agents:
            raise NotFoundError(f"no agent {named!r} in the manifest; known: "
                                f"{', '.join(sorted(manifest.agents)) or '(none)'}")
        return named
    driven = model_driven(manifest)
    if len(driven) <= 1:
        return driven[0] if driven else None
    wanted = set(plan.actions) if plan is not None else set()
    fits = [a for a in driven if wanted and wanted <= set(manifest.agent_tools(a))]
    if len(fits) == 1:
        return fits[0]
    raise ConfigError(f"several model-driven agents could take this request "
                      f"({', '.join(fits or driven)}); choose one with --agent, or match "
                      "actions without a model with --no-model")


def matched_calls(manifest: Manifest, plan: IntentPlan) -> list[PlannedCall]:
    """The matcher's plan as calls: one per matched clause (an action once), arguments read
    from its clause."""
    calls: list[PlannedCall] = []
    seen: set[str] = set()
    for match in plan.matches:
        if match.action is None or match.action in seen:
            continue
        seen.add(match.action)
        spec = manifest.action(match.action)
        args = plan_arguments(match.clause, spec)
        calls.append(PlannedCall(match.action, args, clause=match.clause,
                                 refused=refusal(match.action, spec, args)))
    return calls


def agent_calls(manifest: Manifest, request: str, conversation: list[dict[str, Any]]
                ) -> list[PlannedCall]:
    """The calls an agent run made (its `AgentOutcome.conversation`), with each argument's
    source and what became of the call (`waiting` for those that wait for approval)."""
    results = {(int(e["turn"]), e["call_id"]): e for e in conversation if e["kind"] == "tool"}
    calls: list[PlannedCall] = []
    for entry in conversation:
        if entry["kind"] != "model":
            continue
        for call in entry["tool_calls"]:
            result = results.get((int(entry["turn"]), call["id"]))
            action = (result or {}).get("action") or _action_of(manifest, call["name"])
            try:
                given = json.loads(call["arguments"] or "{}")
            except ValueError:
                given = None
            if action is None or not isinstance(given, dict):
                calls.append(PlannedCall(call["name"], {}, status=(result or {}).get("status"),
                                         refused=(result or {}).get("content")))
                continue
            status = (result or {}).get("status", "waiting")
            refused = result["content"] if result and status == "invalid_arguments" else None
            calls.append(PlannedCall(action, ground(request, manifest.action(action), given),
                                     refused=refused, status=status))
    return calls


def _action_of(manifest: Manifest, tool: str) -> str | None:
    from aios.runtime.agent_tools import tool_name

    return next((n for n in manifest.action_names() if tool_name(n) == tool), None)
