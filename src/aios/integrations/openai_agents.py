"""The manifest's actions as tools of the OpenAI Agents SDK (`pip install 'aios[agents-sdk]'`).

An agent built with the SDK calls Ai:oS actions like any function tool, but each call is
`Runtime.execute`: a durable run of its own through the whole pipeline (guardrails, forensic
mode, approvals, reliability, idempotency, traces, audit). A call the approval policy gates
does not run: the tool answers that it waits for approval, with the request to decide and
the run to resume; a rejected or failed call answers why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aios.errors import ConfigError
from aios.runtime.agent_tools import tool_name
from aios.runtime.engine import RunResult, Runtime

__all__ = ["agents_sdk_tools"]

_INSTALL = "pip install 'aios[agents-sdk]'"


def _answer(result: RunResult) -> str:
    step = next(iter(result.steps.values()), None)
    if step is None:
        return f"error: run {result.run_id} ran nothing ({result.error})"
    if step.status == "succeeded":
        return json.dumps(step.result, default=str, ensure_ascii=False)
    if step.status == "waiting":
        return (f"waiting for approval, not run: {step.error} (run {result.run_id}); tell the "
                "user it needs a decision")
    return f"{step.status}: {step.error}"


def agents_sdk_tools(runtime: Runtime, actions: Sequence[str]) -> list[Any]:
    """`FunctionTool`s for `actions` (`agent.key` names), executed through `runtime`.

    Raises:
        ConfigError: the SDK is not installed (the message has the pip line).
        NotFoundError: an action the manifest does not declare.
    """
    try:
        from agents import FunctionTool
    except ImportError as exc:
        raise ConfigError(f"the OpenAI Agents SDK is not installed: {_INSTALL}") from exc
    from aios.runtime.agent_tools import ToolSet

    tools = ToolSet(runtime.manifest, list(actions))
    out = []
    for definition in tools.definitions():
        fn = definition["function"]
        action = tools.by_tool[fn["name"]]

        async def invoke(_ctx: Any, arguments: str, action: str = action) -> str:
            try:
                args = json.loads(arguments or "{}")
            except ValueError as exc:
                return f"error: the arguments are not valid JSON ({exc})"
            if not isinstance(args, dict):
                return "error: the arguments must be a JSON object"
            return _answer(await runtime.execute(action, args))

        out.append(FunctionTool(name=tool_name(action), description=fn["description"],
                                params_json_schema=fn["parameters"], on_invoke_tool=invoke,
                                strict_json_schema=False))
    return out
