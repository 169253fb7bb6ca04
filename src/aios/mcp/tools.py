"""Actions as MCP tool definitions: name, description with its gate, input schema, annotations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp import types

from aios.approvals.policy import ActionFacts, ApprovalPolicy, Mode
from aios.manifest.schema import Action, Criticality, Manifest
from aios.mcp.names import MAX_TOOL_NAME, tool_name

__all__ = ["Gate", "ServedTool", "gate_of", "served_tools"]

_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class Gate:
    """What stands between a call of an action and its execution."""

    mode: str  # auto | notify | require | deny
    level: str
    approvals: int

    def describe(self) -> str:
        """The gate in words, for tool descriptions and listings."""
        if self.mode == "require":
            who = "approval" if self.approvals == 1 else f"{self.approvals} approvals"
            return f"needs {who} ({self.level})"
        if self.mode == "deny":
            return f"denied by policy ({self.level})"
        if self.mode == "notify":
            return f"runs, approvers notified ({self.level})"
        return f"runs at once ({self.level})"


def gate_of(policy: ApprovalPolicy, action: str, spec: Action, *,
            forensic: bool = False) -> Gate:
    """The approval gate of `action` under `policy`."""
    needed = policy.evaluate(ActionFacts(action=action, criticality=spec.criticality.value,
                                         mutates=spec.mutates, forensic=forensic))
    return Gate(needed.mode.value, needed.level, needed.approvals)


@dataclass(frozen=True)
class ServedTool:
    """One action offered as an MCP tool."""

    action: str
    spec: Action
    gate: Gate
    tool: types.Tool


def _description(action: str, spec: Action, gate: Gate, approval_wait: float) -> str:
    text = spec.description or f"Run the Ai:oS action {action}."
    effect = "Changes things." if spec.mutates else "Read-only."
    if gate.mode == Mode.require.value:
        return (f"{text} {effect} Gate: {gate.describe()}: a call waits up to "
                f"{approval_wait:g} s for people to decide, then returns the approval request "
                "id; call again with the same arguments once it is decided to get the outcome "
                "(it runs once).")
    return f"{text} {effect} Gate: {gate.describe()}."


def _tool(action: str, spec: Action, gate: Gate, approval_wait: float) -> types.Tool:
    schema = dict(spec.inputs) if spec.inputs else dict(_EMPTY_SCHEMA)
    schema.setdefault("type", "object")
    return types.Tool(
        name=tool_name(action), title=action,
        description=_description(action, spec, gate, approval_wait),
        inputSchema=schema,
        annotations=types.ToolAnnotations(
            title=action, readOnlyHint=not spec.mutates,
            destructiveHint=spec.mutates and spec.criticality.rank >= Criticality.high.rank,
            idempotentHint=not spec.mutates, openWorldHint=None))


def served_tools(manifest: Manifest, *, agent: str | None = None, approval_wait: float = 30.0,
                 forensic: bool = False) -> dict[str, ServedTool]:
    """The manifest's actions (of one agent, or all) as tools, by tool name.

    Actions whose tool name would pass the 64 characters MCP clients accept are left out.
    """
    out: dict[str, ServedTool] = {}
    for action in manifest.action_names():
        if agent is not None and action.partition(".")[0] != agent:
            continue
        name = tool_name(action)
        if len(name) > MAX_TOOL_NAME:
            continue
        spec = manifest.action(action)
        gate = gate_of(manifest.approvals, action, spec, forensic=forensic)
        out[name] = ServedTool(action, spec, gate, _tool(action, spec, gate, approval_wait))
    return out
