"""Ai:oS actions as tools of other agent frameworks: every call still passes the gates.

`gated_tools` (tools.py) is the one spec; `agents_sdk_tools` (OpenAI Agents SDK) and
`langchain_tools` (LangChain) wrap it. Each framework is an optional extra, imported only
when its function is called.
"""

from aios.integrations.langchain import langchain_tools
from aios.integrations.openai_agents import agents_sdk_tools
from aios.integrations.tools import GatedTool, ToolAnswer, gated_tools

__all__ = ["GatedTool", "ToolAnswer", "agents_sdk_tools", "gated_tools", "langchain_tools"]
