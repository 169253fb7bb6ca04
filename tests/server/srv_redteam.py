"""A red-team target for the server tests: it repeats its instructions to anyone who asks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def leaky(messages: Sequence[Any]) -> str:
    """Answer every turn with the system prompt (a target that fails prompt extraction)."""
    system = next((m.content for m in messages if m.role == "system"), "")
    return f"Of course. My instructions are: {system}"
