"""The manifest's actions as tools of the OpenAI Agents SDK (`pip install 'aios[agents-sdk]'`).

A thin wrapper of `aios.integrations.tools.gated_tools`: each `FunctionTool` checks its
arguments and runs the action with `Runtime.execute`, a durable run of its own through the
whole pipeline (guardrails, forensic mode, approvals, reliability, idempotency, traces,
audit). A call the approval policy gates does not run: the tool answers ``waiting for
approval <request id>``, with the run to resume; a rejected or failed call answers why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aios.errors import ConfigError
from aios.integrations.tools import GatedTool, gated_tools
from aios.runtime.engine import Runtime

__all__ = ["agents_sdk_tools"]

_INSTALL = "pip install 'aios[agents-sdk]'"


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

    def wrap(tool: GatedTool) -> Any:
        async def invoke(_ctx: Any, arguments: str) -> str:
            return (await tool(arguments)).text

        return FunctionTool(name=tool.name, description=tool.description,
                            params_json_schema=tool.parameters, on_invoke_tool=invoke,
                            strict_json_schema=False)

    return [wrap(tool) for tool in gated_tools(runtime, actions)]
