"""Token counts when no tokenizer is at hand.

Remote models' tokenizers are not available offline (tiktoken downloads its tables at run
time, which Ai:oS never does), so the gateway estimates: about four characters per token for
English text, rounded up, plus a few tokens of chat framing per message. It over-estimates
slightly on purpose: the estimate reserves budgets and keeps prompts out of models too small
for them. Adapters that have the real tokenizer (the local llama.cpp model) count exactly.
"""

from __future__ import annotations

import json

from aios.llm.types import LLMRequest

__all__ = ["MESSAGE_OVERHEAD", "estimate_request_tokens", "estimate_tokens"]

#: Tokens of chat-template framing per message (role markers, separators).
MESSAGE_OVERHEAD = 4
#: Characters per token assumed by the estimate (a little under the ~4 of English BPE).
_CHARS_PER_TOKEN = 3.6


def estimate_tokens(text: str) -> int:
    """An upper-leaning estimate of the tokens in `text` (0 for the empty string)."""
    if not text:
        return 0
    return int(len(text) / _CHARS_PER_TOKEN) + 1


def estimate_request_tokens(request: LLMRequest) -> int:
    """Estimated prompt tokens of `request`: messages, framing and tool definitions."""
    total = 2  # the assistant turn's opening
    for message in request.messages:
        total += MESSAGE_OVERHEAD + estimate_tokens(message.content)
        for call in message.tool_calls:
            total += estimate_tokens(call.name) + estimate_tokens(call.arguments)
    if request.tools:
        total += estimate_tokens(json.dumps(list(request.tools), default=str))
    if request.response_format:
        total += estimate_tokens(json.dumps(dict(request.response_format), default=str))
    return total
