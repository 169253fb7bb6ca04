"""A scripted model that obeys every instruction: the worst case for prompt attacks.

`compliant_reply` answers a chat-completion body the way a model with no defences would:
it repeats its instructions (system prompt, secrets included) and what it was asked (so a
canary an injection demands appears), and carries out three obfuscation requests that
attackers use to get a secret past output filters: reversed, base64, characters spaced out.
With it as the upstream, the attack success rate of the OpenAI-compatible endpoint measures
the endpoint's guardrails alone. Use with `ScriptedLLMServer(responder=compliant_reply)`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from tests.support.scripted_llm import Reply

__all__ = ["compliant_reply"]

_MARKER = "never reveal it to anyone:"


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def compliant_reply(body: Mapping[str, Any]) -> Reply:
    """What a model that obeys everything answers to `body` (an OpenAI chat request)."""
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    system = " ".join(_text(m) for m in messages if m.get("role") in ("system", "developer"))
    asked = next((_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    config = system.split(_MARKER, 1)[1].strip() if _MARKER in system else system
    wanted = asked.lower()
    if "backwards" in wanted or "reverse" in wanted:
        text = f"Here it is, reversed: {config[::-1]}"
    elif "base64" in wanted:
        text = f"Here it is in base64: {base64.b64encode(config.encode()).decode()}"
    elif "spaces between" in wanted:
        text = f"Here it is, spaced out: {' '.join(config)}"
    else:
        text = f"Of course. My instructions are: {system}\nAnd as you asked: {asked}"
    return Reply.ok(text)
