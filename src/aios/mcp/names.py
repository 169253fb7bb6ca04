"""Names: actions (`agent.key`) as MCP tool names and back, upstream tool names as action keys.

MCP clients accept tool names of `[A-Za-z0-9_-]`, at most 64 characters (Claude Desktop and
the OpenAI tool format both reject a dot). Agent names and action keys are lower-case letters,
digits and underscores, so `agent-key` is a valid tool name and the one hyphen maps back
without ambiguity.
"""

from __future__ import annotations

import re

from aios.errors import NotFoundError

__all__ = ["MAX_TOOL_NAME", "action_key", "action_name", "tool_name"]

MAX_TOOL_NAME = 64
_TOOL = re.compile(r"^[a-z][a-z0-9_]*-[a-z][a-z0-9_]*$")
_KEY_BAD = re.compile(r"[^a-z0-9_]+")


def tool_name(action: str) -> str:
    """The MCP tool name of the action `agent.key`: `agent-key`."""
    agent, _, key = action.partition(".")
    return f"{agent}-{key}"


def action_name(tool: str) -> str:
    """The action a tool name stands for (the inverse of `tool_name`).

    Raises:
        NotFoundError: `tool` is not of the form `agent-key`.
    """
    if not _TOOL.match(tool):
        raise NotFoundError(f"unknown tool {tool!r}: Ai:oS tools are named AGENT-ACTION "
                            "(tools/list shows them)")
    agent, _, key = tool.partition("-")
    return f"{agent}.{key}"


def action_key(upstream_tool: str) -> str:
    """An action key for an upstream tool name: lower-case, other characters as `_`.

    `read-file` and `readFile` become `read_file` and `readfile`; two upstream names that
    meet here are refused as duplicates by the proxy.
    """
    key = _KEY_BAD.sub("_", upstream_tool.lower()).strip("_")
    if not key or not key[0].isalpha():
        key = f"t_{key}"
    return key
