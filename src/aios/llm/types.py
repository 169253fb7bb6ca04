"""The data that crosses the model gateway: requests, responses, usage, model capabilities.

All frozen: a layer that needs a different request builds a new one (`dataclasses.replace`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

__all__ = ["KeyBudget", "LLMRequest", "LLMResponse", "Message", "ModelInfo", "StreamChunk",
           "ToolCall", "ToolCallDelta", "Usage", "evolve"]

_T = TypeVar("_T")
_FIELDS: dict[type, frozenset[str]] = {}


def evolve(record: _T, **changes: Any) -> _T:
    """A copy of a frozen record with `changes`: `dataclasses.replace` without re-running
    `__init__` (these records validate nothing), several times faster on the gateway's
    per-call path, where every wrapper that adds a figure makes a copy.

    Raises:
        TypeError: a name in `changes` is not a field of the record.
    """
    cls = type(record)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]
    if not names.issuperset(changes):
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(set(changes) - names)}")
    copy = object.__new__(cls)
    copy.__dict__.update(record.__dict__)
    copy.__dict__.update(changes)
    return copy

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model asked for."""

    id: str
    name: str
    arguments: str  # JSON text, as the providers return it


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a tool call as a stream delivers it (OpenAI's `delta.tool_calls[i]`).

    The first piece of a call names it (`id`, `name`); the next ones add to its `arguments`
    (JSON text, in fragments). `index` tells parallel calls apart: their pieces may interleave.
    """

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True)
class Message:
    """One chat message.

    Attributes:
        role: `system`, `user`, `assistant` or `tool`.
        content: the text.
        name: an optional participant name.
        tool_call_id: for `tool` messages, the id of the call this message answers.
        tool_calls: for `assistant` messages, the tool calls the model made (so a conversation
            with tools can be sent back).
        trusted: Ai:oS wrote this text itself (the agent loop's answer to a malformed call:
            its JSON Schema errors, an unknown tool's name): the guardrails do not scan it as
            untrusted tool output. Never set it on text that came from a tool or a client.
    """

    role: Role
    content: str
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    trusted: bool = False


@dataclass(frozen=True)
class KeyBudget:
    """The dollar budget of the API key a call came with (`aios keys create --budget-usd`).

    Attributes:
        usd: the ceiling in USD.
        period: the window spend is summed over: `total` (the key's lifetime), or the UTC
            calendar `day` or `month`.
    """

    usd: float
    period: Literal["total", "day", "month"] = "total"


@dataclass(frozen=True)
class LLMRequest:
    """What a caller asks the gateway for.

    Attributes:
        messages: the conversation, system message(s) first.
        model: a model name from the manifest's `models:` (None: the router chooses).
        tier: ask for a tier instead of a model (`simple`, `medium`, `complex`).
        max_tokens: cap on output tokens.
        temperature, top_p, stop, seed: sampling parameters (None: the provider's default).
        tools: tool definitions in the OpenAI function-calling format.
        tool_choice: what the model must do with `tools` this turn: `auto` (call some or
            answer), `required` (call one), `none` (answer), or a tool's name (call that
            one); None: the provider's default (auto).
        response_format: a JSON Schema the output must follow (`{"type": "object", ...}`),
            or `{}` for any JSON object; None for free text.
        tenant, user: who the call is for (budgets and cache namespaces).
        run_id, agent, action: where the call comes from (budgets, traces).
        cache: False to bypass the response cache for this call.
        api_key: the id of the API key the call came with (the OpenAI-compatible endpoint);
            the cost ledger records it.
        key_budget: that key's own budget (None: none).
    """

    messages: tuple[Message, ...]
    model: str | None = None
    tier: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: str | None = None
    response_format: Mapping[str, Any] | None = None
    tenant: str | None = None
    user: str | None = None
    run_id: str | None = None
    agent: str | None = None
    action: str | None = None
    cache: bool = True
    api_key: str | None = None
    key_budget: KeyBudget | None = None

    @classmethod
    def of(cls, prompt: str, *, system: str | None = None, **kwargs: Any) -> LLMRequest:
        """A request from a single user prompt (and an optional system prompt)."""
        messages = [Message("system", system)] if system else []
        messages.append(Message("user", prompt))
        return cls(messages=tuple(messages), **kwargs)

    @property
    def prompt_text(self) -> str:
        """All message text joined, for length estimates and classifiers."""
        return "\n".join(m.content for m in self.messages)


@dataclass(frozen=True)
class Usage:
    """Tokens by class. `counted` is True when we counted them (the provider reported none).

    One convention for every provider (adapters normalise to it, the cost ledger relies on it):
    `input_tokens` is every prompt token, cache reads and cache writes included;
    `output_tokens` is every generated token, reasoning tokens included. So
    `input_tokens - cache_read_tokens - cache_write_tokens` are the uncached prompt tokens and
    `output_tokens - reasoning_tokens` the visible output tokens.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    counted: bool = False

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens (cache and reasoning tokens are already inside those)."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class LLMResponse:
    """What the gateway returns.

    Attributes:
        text: the completion text.
        model: the model name (manifest name) that answered.
        provider: the provider's registered name.
        usage: tokens by class.
        tool_calls: tool calls the model asked for.
        finish_reason: `stop`, `length`, `tool_calls`, ...
        latency_s: wall time of the call; ttft_s: time to first token (streams).
        cost_usd: the cost from the cost ledger (0 for a cache hit or the local model).
        cached: True when the response cache answered.
        route_reason: why the router chose this model, when it chose.
        response_model: the model id the provider says answered, if it said.
    """

    text: str
    model: str
    provider: str
    usage: Usage = field(default_factory=Usage)
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    latency_s: float = 0.0
    ttft_s: float | None = None
    cost_usd: float = 0.0
    cached: bool = False
    route_reason: str | None = None
    response_model: str | None = None


@dataclass(frozen=True)
class StreamChunk:
    """One piece of a streamed completion; the last one carries `usage` and `finish_reason`.

    `tool_calls` are whole calls (a provider sends them once it has them all, before or with
    its last chunk); `tool_deltas` are their pieces as they arrive, from providers that stream
    them (the whole calls still follow, so a reader may take either).
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    #: Set on the last chunk the gateway yields: the whole call as one response (text, model,
    #: usage, cost, latency, time to first token); None on provider chunks.
    response: LLMResponse | None = None
    tool_deltas: tuple[ToolCallDelta, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    """A configured model and what it can do: the router filters on these, never on names.

    Prices are USD per million tokens; None means "look it up in genai-prices".
    `reasoning_price` defaults to the output price (reasoning tokens are billed as output).
    `base_url` is the endpoint (None: the provider's official one); `api_key_env` is the NAME
    of the environment variable holding the key, never the key; `params` are the provider's
    options (see each provider's docstring); `timeout_s` bounds one HTTP request.
    """

    name: str
    provider: str
    model_id: str
    tier: str = "simple"
    context_window: int = 8192
    max_output_tokens: int | None = None
    supports_tools: bool = False
    supports_json: bool = False
    supports_streaming: bool = True
    input_price: float | None = None
    output_price: float | None = None
    cache_read_price: float | None = None
    cache_write_price: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    reasoning_price: float | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 60.0
