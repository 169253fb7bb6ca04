"""A manifest's actions as native function-calling tools, and the model's calls checked.

A tool is named after its action with the dot replaced (`storage.cleanup` ->
`storage__cleanup`): function names must match ``^[a-zA-Z0-9_-]{1,64}$`` on every provider.
Its parameters are the action's `inputs` JSON Schema (an object with no properties when the
action declares none). A call the model makes is checked before anything runs: the name must
be one of the tools, the arguments a JSON object that passes the schema. A call that fails is
answered with the reason, so the model can correct itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema

from aios.errors import ConfigError
from aios.llm.types import ToolCall
from aios.manifest.schema import Action, Manifest

__all__ = ["CheckedCall", "Refusal", "ToolSet", "tool_name"]

_INVALID = re.compile(r"[^a-zA-Z0-9_-]")


def tool_name(action: str) -> str:
    """The function name of `agent.key` (`agent__key`), valid on every provider."""
    return _INVALID.sub("_", action.replace(".", "__"))[:64]


@dataclass(frozen=True)
class CheckedCall:
    """A model's tool call that may run: the action and its parsed arguments."""

    call: ToolCall
    action: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Refusal:
    """A model's tool call that may not run, and the answer the model gets instead.

    Attributes:
        call: the call as the model made it.
        status: `unknown_tool` or `invalid_arguments`.
        message: the tool result the model reads.
    """

    call: ToolCall
    status: str
    message: str


def _parameters(spec: Action) -> dict[str, Any]:
    schema = dict(spec.inputs or {})
    schema.setdefault("type", "object")
    if schema["type"] == "object":
        schema.setdefault("properties", {})
    return schema


class ToolSet:
    """The tools of one agent: definitions for the model and a checker for its calls.

    Args:
        manifest: the manifest declaring the actions.
        actions: the `agent.key` names the model may call.
    """

    def __init__(self, manifest: Manifest, actions: list[str]):
        self.specs = {name: manifest.action(name) for name in actions}
        self.by_tool: dict[str, str] = {}
        for name in actions:
            fn = tool_name(name)
            if fn in self.by_tool:
                raise ConfigError(f"actions {self.by_tool[fn]!r} and {name!r} map to the same "
                                  f"tool name {fn!r}; rename one of them")
            self.by_tool[fn] = name
        self._validators = {name: jsonschema.Draft202012Validator(_parameters(spec))
                            for name, spec in self.specs.items()}

    def definitions(self) -> tuple[dict[str, Any], ...]:
        """The tools in the OpenAI function-calling format."""
        out = []
        for fn, name in self.by_tool.items():
            spec = self.specs[name]
            text = spec.description or f"Run {name}."
            if spec.mutates:
                text += f" Changes the host (criticality {spec.criticality.value})."
            out.append({"type": "function", "function": {
                "name": fn, "description": text, "parameters": _parameters(spec)}})
        return tuple(out)

    def tool_choices(self, entries: list[str], agent: str) -> tuple[str, ...]:
        """`agents.AGENT.tool_choice` as requests' `tool_choice`s (an action: its tool name).

        Raises:
            ConfigError: an entry is no choice and none of the agent's tools.
        """
        return tuple(self._choice(entry, agent) for entry in entries)

    def _choice(self, entry: str, agent: str) -> str:
        if entry in ("auto", "required", "none"):
            return entry
        for name in (entry, f"{agent}.{entry}"):
            if name in self.specs:
                return tool_name(name)
        raise ConfigError(f"agents.{agent}.tool_choice: {entry!r} is neither auto, required, "
                          f"none nor one of the agent's tools ({', '.join(sorted(self.specs))})")

    def check(self, call: ToolCall) -> CheckedCall | Refusal:
        """Whether `call` may run: a known tool, with a JSON object that fits its schema."""
        action = self.by_tool.get(call.name) or (call.name if call.name in self.specs else None)
        if action is None:
            return Refusal(call, "unknown_tool",
                           f"error: there is no tool {call.name!r}; the tools are "
                           f"{', '.join(sorted(self.by_tool))}")
        try:
            args = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError as exc:
            return Refusal(call, "invalid_arguments",
                           f"error: the arguments of {call.name} are not valid JSON ({exc}); "
                           "send one JSON object")
        if not isinstance(args, dict):
            return Refusal(call, "invalid_arguments",
                           f"error: the arguments of {call.name} must be a JSON object, not "
                           f"{type(args).__name__}")
        merged = {**self.specs[action].params, **args}
        errors = sorted(self._validators[action].iter_errors(merged),
                        key=lambda e: list(e.path))
        if errors:
            detail = "; ".join(f"{'.'.join(str(p) for p in e.path) or '(arguments)'}: "
                               f"{e.message}" for e in errors[:5])
            return Refusal(call, "invalid_arguments",
                           f"error: the arguments of {call.name} do not fit its schema: "
                           f"{detail}")
        return CheckedCall(call, action, args)
