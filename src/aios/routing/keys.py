"""Cache keys: what identifies a response (exact key), a semantic bucket, a namespace.

Exact key: a digest of everything that changes the output and nothing else: the model
(provider, model id, provider params), every message (system prompt included; role, text,
name, tool call id, tool calls), the tools, `response_format`, and the sampling parameters
(temperature, top_p, stop, seed, max_tokens). Tenant, user, run and action are not in it:
they select the namespace, which is kept apart from the key.
"""

from __future__ import annotations

import hashlib
import json

from aios.llm.types import LLMRequest, Message, ModelInfo

__all__ = ["bucket_key", "exact_key", "last_user_index", "model_identity", "namespace_of"]


def namespace_of(request: LLMRequest) -> str:
    """`tenant/user` of a request (`-` for a missing part)."""
    return f"{request.tenant or '-'}/{request.user or '-'}"


def model_identity(model: ModelInfo) -> bytes:
    """What identifies a model's output: provider, model id and provider params (not the
    manifest alias)."""
    return json.dumps([model.provider, model.model_id, dict(model.params)], sort_keys=True,
                      default=str).encode()


def _message_part(message: Message) -> str:
    # Length-prefixed so that no two different conversations join to the same text.
    text = (f"{message.role}\x1e{message.name or ''}\x1e{message.tool_call_id or ''}\x1e"
            f"{len(message.content)}\x1e{message.content}")
    calls = getattr(message, "tool_calls", ())
    if calls:
        text += "\x1e" + json.dumps([[c.id, c.name, c.arguments] for c in calls])
    return text


def _digest(request: LLMRequest, model: bytes, skip: int | None) -> str:
    parts = ["\x00" if index == skip else _message_part(message)
             for index, message in enumerate(request.messages)]
    parts.append(json.dumps(list(request.tools), sort_keys=True, default=str)
                 + (f"\x1e{request.tool_choice}" if request.tool_choice is not None else "")
                 if request.tools else "")
    parts.append(json.dumps(request.response_format, sort_keys=True, default=str)
                 if request.response_format is not None else "-")
    parts.append(repr((request.temperature, request.top_p, request.stop, request.seed,
                       request.max_tokens)))
    data = model + b"\x1f" + "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def last_user_index(request: LLMRequest) -> int | None:
    """Position of the last user message (None: there is none)."""
    for index in range(len(request.messages) - 1, -1, -1):
        if request.messages[index].role == "user":
            return index
    return None


def exact_key(request: LLMRequest, model: ModelInfo | bytes) -> str:
    """The exact-match key of `request` on `model` (32 hex characters)."""
    identity = model if isinstance(model, bytes) else model_identity(model)
    return _digest(request, identity, None)


def bucket_key(request: LLMRequest, model: ModelInfo | bytes) -> str | None:
    """The semantic bucket: the exact key without the last user message (None: no user
    message, nothing to compare)."""
    index = last_user_index(request)
    if index is None:
        return None
    identity = model if isinstance(model, bytes) else model_identity(model)
    return _digest(request, identity, index)
