"""Test support shared by several test packages: the scripted LLM HTTP server.

Import it as ``from tests.support import Reply, ScriptedLLMServer`` (pytest puts the
repository root on ``sys.path`` through ``pythonpath = ["."]`` in pyproject.toml).
"""

from .compliant_llm import compliant_reply
from .scripted_llm import Reply, ScriptedLLMServer

__all__ = ["Reply", "ScriptedLLMServer", "compliant_reply"]
