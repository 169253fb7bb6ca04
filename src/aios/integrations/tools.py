"""The manifest's actions as gated tools: the one spec every framework integration wraps.

`gated_tools(runtime, actions)` builds, per action, a `GatedTool`: the function-calling name
(`agent__key`), description and JSON Schema the agent loop offers its own model
(`ToolSet.definitions`), and a coroutine that checks the arguments (`ToolSet.check`: a JSON
object that fits the action's `inputs`) and runs the action with `Runtime.execute`, a
durable run of its own through the whole pipeline (guardrails, forensic mode, approvals,
reliability, idempotency, traces, audit). The framework wrappers (`openai_agents`,
`langchain`) only adapt this to their tool classes.

What a call answers (`ToolAnswer.text`, what the framework's model reads): the result as
JSON; for a call the approval policy gates, ``waiting for approval <request id>`` with the run
to resume (it did not run); otherwise the step's status and why (rejected, skipped, failed).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aios.approvals import ApprovalService
from aios.errors import NotFoundError
from aios.llm.types import ToolCall
from aios.runtime.agent_tools import Refusal, ToolSet
from aios.runtime.engine import RunResult, Runtime

__all__ = ["GatedTool", "ToolAnswer", "gated_tools"]


@dataclass(frozen=True)
class ToolAnswer:
    """What one tool call did.

    Attributes:
        text: what the calling model reads.
        status: the step's status (`succeeded`, `waiting`, `failed`, `skipped`...), or
            `invalid_arguments` when nothing ran.
        run_id: the run that recorded the call (None when nothing ran).
        requests: approval requests the call waits for.
        result: the action's result when it succeeded.
    """

    text: str
    status: str
    run_id: str | None = None
    requests: tuple[str, ...] = ()
    result: Any = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able record (LangChain's tool-message artifact)."""
        return {"status": self.status, "run_id": self.run_id, "requests": list(self.requests),
                "result": self.result}


@dataclass(frozen=True)
class GatedTool:
    """One manifest action as a tool; calling it runs the action through `runtime`.

    Attributes:
        name: the function name (`agent__key`).
        action: `agent.key`.
        description: the action's description (and, for a change, its criticality).
        parameters: the JSON Schema of the arguments.
    """

    name: str
    action: str
    description: str
    parameters: dict[str, Any]
    runtime: Runtime = field(repr=False)
    checker: ToolSet = field(repr=False)

    async def __call__(self, arguments: str | dict[str, Any] | None) -> ToolAnswer:
        """Check `arguments` (JSON text or a mapping) and run the action."""
        text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
        checked = self.checker.check(ToolCall(uuid.uuid4().hex, self.name, text))
        if isinstance(checked, Refusal):
            return ToolAnswer(checked.message, checked.status)
        return await _answer(self.runtime, await self.runtime.execute(self.action,
                                                                      checked.args))


async def _answer(runtime: Runtime, result: RunResult) -> ToolAnswer:
    step = next(iter(result.steps.values()), None)
    if step is None:
        return ToolAnswer(f"error: run {result.run_id} ran nothing ({result.error})",
                          result.status, result.run_id)
    if step.status == "succeeded":
        return ToolAnswer(json.dumps(step.result, default=str, ensure_ascii=False),
                          "succeeded", result.run_id, result=step.result)
    if step.status == "waiting":
        queue = await ApprovalService(runtime.runs.store).queue(run_id=result.run_id)
        ids = tuple(r.id for r in queue)
        return ToolAnswer(
            f"waiting for approval {', '.join(ids) or '(request pending)'}: not run "
            f"({step.error}); run {result.run_id} continues with `aios runs resume` once "
            "it is decided. Tell the user it needs a decision.",
            "waiting", result.run_id, ids)
    return ToolAnswer(f"{step.status}: {step.error}", step.status, result.run_id)


def gated_tools(runtime: Runtime, actions: Sequence[str]) -> list[GatedTool]:
    """A `GatedTool` per action (`agent.key` names), executed through `runtime`.

    Raises:
        NotFoundError: an action the manifest does not declare.
        ConfigError: two actions map to the same tool name.
    """
    known = runtime.manifest.action_names()
    unknown = [a for a in actions if a not in known]
    if unknown:
        raise NotFoundError(f"no action {', '.join(map(repr, unknown))} in the manifest; "
                            f"known: {', '.join(known) or '(none)'}")
    checker = ToolSet(runtime.manifest, list(actions))
    out = []
    for definition in checker.definitions():
        fn = definition["function"]
        out.append(GatedTool(fn["name"], checker.by_tool[fn["name"]], fn["description"],
                             fn["parameters"], runtime, checker))
    return out
