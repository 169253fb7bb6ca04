"""MCP gateway: the manifest's actions served as MCP tools, upstream MCP tools behind the gates.

`server` turns actions into tools and runs every call through `Runtime.execute`; `proxy`
connects to the manifest's `mcp_servers:` and registers each vetted upstream tool as an
action. The configuration models load eagerly (the manifest schema imports them); the rest
loads on first use, since it imports the runtime and the `mcp` SDK (the `mcp` extra).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from aios.mcp.config import McpServerSpec, McpToolSpec

if TYPE_CHECKING:
    from aios.mcp.names import action_name, tool_name
    from aios.mcp.proxy import McpProxy, open_proxy
    from aios.mcp.server import ActionServer

__all__ = [
    "ActionServer",
    "McpProxy",
    "McpServerSpec",
    "McpToolSpec",
    "action_name",
    "open_proxy",
    "tool_name",
]

_LAZY = {"action_name": "names", "tool_name": "names", "McpProxy": "proxy",
         "open_proxy": "proxy", "ActionServer": "server"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aios.mcp' has no attribute {name!r}")
    return getattr(importlib.import_module(f"aios.mcp.{module}"), name)
