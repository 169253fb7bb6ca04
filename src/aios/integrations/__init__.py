"""Ai:oS actions as tools of other agent frameworks: every call still passes the gates."""

from aios.integrations.openai_agents import agents_sdk_tools

__all__ = ["agents_sdk_tools"]
