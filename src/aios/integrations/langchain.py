"""The manifest's actions as LangChain tools (`pip install 'aios[langchain]'`).

A thin wrapper of `aios.integrations.tools.gated_tools`: each `StructuredTool` checks its
arguments against the action's `inputs` and runs the action with `Runtime.execute`, a durable
run of its own through the whole pipeline (guardrails, forensic mode, approvals, reliability,
idempotency, traces, audit), exactly as the OpenAI Agents SDK tools and `aios exec` do.

A call the approval policy gates **returns** (it does not raise): the content is
``waiting for approval <request id>: not run ...``, so a LangChain agent goes on and can tell
its user that a person must decide; nothing ran, and `aios runs resume RUN` runs it once
approved. Raising would end the agent's whole turn in most LangChain executors, which is not
what a gate means. Rejected, skipped or failed calls and arguments that do not fit the
schema return their reason the same way. The tools use LangChain's
``response_format="content_and_artifact"``: invoked with a tool call, the `ToolMessage`'s
`artifact` is `{"status", "run_id", "requests", "result"}` for programs that branch on it.

The tools are asynchronous (`ainvoke`, an agent's `ainvoke`/`astream`), because the Runtime
is: it lives on the event loop that opened it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aios.errors import ConfigError
from aios.integrations.tools import GatedTool, gated_tools
from aios.runtime.engine import Runtime

__all__ = ["langchain_tools"]

_INSTALL = "pip install 'aios[langchain]'"


def langchain_tools(runtime: Runtime, actions: Sequence[str]) -> list[Any]:
    """LangChain `StructuredTool`s for `actions` (`agent.key` names), run through `runtime`.

    Raises:
        ConfigError: langchain-core is not installed (the message has the pip line).
        NotFoundError: an action the manifest does not declare.
    """
    try:
        from langchain_core.tools import StructuredTool
    except ImportError as exc:
        raise ConfigError(f"langchain-core is not installed: {_INSTALL}") from exc

    def wrap(tool: GatedTool) -> Any:
        async def invoke(**arguments: Any) -> tuple[str, dict[str, Any]]:
            answer = await tool(arguments)
            return answer.text, answer.as_dict()

        return StructuredTool(name=tool.name, description=tool.description,
                              args_schema=tool.parameters, coroutine=invoke,
                              response_format="content_and_artifact")

    return [wrap(tool) for tool in gated_tools(runtime, actions)]
