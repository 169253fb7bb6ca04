"""Helpers for testing code that calls models through Ai:oS: a scripted, in-process provider.

`ScriptedProvider` implements the provider interface (`complete`, `stream`) and answers from
a script of `Turn`s, in order, recording every request; when the script runs out it answers
with its `default` (by default it echoes the last message). Put it under a real `Gateway`,
and everything above the adapter runs for real: model choice, cost, budgets, the cost ledger,
the cache, retries, fallbacks, spans. A handler's test can hand that gateway to the runtime
(`open_runtime(manifest, llm=gateway)`)::

    from aios.testing import ScriptedProvider, Turn

    provider = ScriptedProvider(Turn("a draft"), Turn(error=TransientProviderError("busy")),
                                "the answer")
    gateway = provider.gateway(input_price=2.5, output_price=10.0)   # USD per million
    reply = await gateway.complete("Summarise this")
    assert reply.text == "a draft" and provider.requests[0].messages[-1].content == ...

For the official SDKs' wire formats and HTTP faults (429 with Retry-After, resets, stalls),
point the `openai` or `anthropic` provider at a scripted HTTP server instead; this provider
stands in for the adapter, not for the network.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from aios.errors import ConfigError
from aios.llm.gateway import Gateway
from aios.llm.tokens import estimate_request_tokens, estimate_tokens
from aios.llm.types import (
    LLMRequest,
    LLMResponse,
    ModelInfo,
    StreamChunk,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["ScriptedProvider", "Turn", "echo"]

_PIECES = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class Turn:
    """One scripted answer (or failure).

    Attributes:
        text: the completion text.
        usage: the tokens to report; None: the provider's `usage`, else counted from the
            request and the text (and marked `counted`, as an adapter that got none would).
        tool_calls: tool calls to return.
        finish_reason: `stop`, `length`, `tool_calls`, ...
        error: raised instead of answering (a `TransientProviderError` to exercise retries
            and fallbacks, a `PermanentProviderError`, ...); with `fail_after`, raised in the
            middle of a stream instead.
        pieces: the chunks a stream sends (default: the text word by word).
        fail_after: with `error`: a stream sends this many pieces, then fails.
        wait: awaited before answering (hold calls in flight, to test concurrency and
            cancellation).
        response_model: the model id the "provider" says answered (`complete`).
        stream_usage: False: a stream ends without usage, as some adapters' streams do (the
            gateway then counts the tokens itself).
        tool_pieces: a stream sends each tool call as the `openai` adapter does: a first
            piece with its id and name, then its arguments in pieces of this many characters
            (`StreamChunk.tool_deltas`), then the whole calls; 0: the whole calls only.
    """

    text: str = ""
    usage: Usage | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = "stop"
    error: BaseException | None = None
    pieces: tuple[str, ...] | None = None
    fail_after: int | None = None
    wait: asyncio.Event | None = None
    response_model: str | None = None
    stream_usage: bool = True
    tool_pieces: int = 0

    @classmethod
    def of(cls, value: Turn | str | BaseException) -> Turn:
        """A turn from a turn, a text, or an exception to raise."""
        if isinstance(value, Turn):
            return value
        if isinstance(value, BaseException):
            return cls(error=value)
        return cls(text=value)

    def chunks(self) -> tuple[str, ...]:
        """The text as the pieces a stream sends."""
        if self.pieces is not None:
            return self.pieces
        return tuple(_PIECES.findall(self.text))


def echo(request: LLMRequest) -> Turn:
    """The default answer: the last message's text."""
    return Turn(text=request.messages[-1].content if request.messages else "")


#: What answers when the script is empty: a turn, a text, or a function of the request.
Default = Turn | str | Callable[[LLMRequest], Turn | str] | None


class ScriptedProvider:
    """A provider that answers from a script; see the module docstring.

    Args:
        *turns: the answers, in order (`Turn`s, texts, or exceptions to raise).
        default: the answer once the script is empty (None: running out is an error that
            says so).
        usage: the tokens every turn without its own `usage` reports (None: counted).
        name: the provider name responses carry.

    Attributes:
        requests: every request received, in order.
        calls: `(method, request, model)` for every call (`complete` or `stream`).
    """

    def __init__(self, *turns: Turn | str | BaseException, default: Default = echo,
                 usage: Usage | None = None, name: str = "scripted"):
        self.name = name
        self.default = default
        self.usage = usage
        self._script: deque[Turn] = deque(Turn.of(t) for t in turns)
        self.requests: list[LLMRequest] = []
        self.calls: list[tuple[str, LLMRequest, ModelInfo]] = []

    def script(self, *turns: Turn | str | BaseException) -> None:
        """Queue more answers after the ones left."""
        self._script.extend(Turn.of(t) for t in turns)

    @property
    def pending(self) -> int:
        """Scripted answers not used yet."""
        return len(self._script)

    def _next(self, method: str, request: LLMRequest, model: ModelInfo) -> Turn:
        self.requests.append(request)
        self.calls.append((method, request, model))
        if self._script:
            return self._script.popleft()
        if self.default is None:
            raise ConfigError(
                f"ScriptedProvider: call {len(self.calls)} ({method} on model {model.name}) "
                "found no scripted answer left; script more with .script(...) or pass "
                "default=")
        default = self.default(request) if callable(self.default) else self.default
        return Turn.of(default)

    def _usage(self, turn: Turn, request: LLMRequest) -> Usage:
        if turn.usage is not None:
            return turn.usage
        if self.usage is not None:
            return self.usage
        return Usage(input_tokens=estimate_request_tokens(request),
                     output_tokens=estimate_tokens(turn.text), counted=True)

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """The next scripted answer (or its error)."""
        turn = self._next("complete", request, model)
        if turn.wait is not None:
            await turn.wait.wait()
        if turn.error is not None:
            raise turn.error
        return LLMResponse(text=turn.text, model=model.name, provider=self.name,
                           usage=self._usage(turn, request), tool_calls=turn.tool_calls,
                           finish_reason=turn.finish_reason, response_model=turn.response_model)

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """The next scripted answer, piece by piece; the last chunk carries usage."""
        turn = self._next("stream", request, model)
        if turn.wait is not None:
            await turn.wait.wait()
        if turn.error is not None and turn.fail_after is None:
            raise turn.error
        for index, piece in enumerate(turn.chunks()):
            if turn.error is not None and index == turn.fail_after:
                raise turn.error
            yield StreamChunk(text=piece)
        if turn.error is not None:
            raise turn.error
        size = turn.tool_pieces
        for index, call in enumerate(turn.tool_calls if size else ()):
            yield StreamChunk(tool_deltas=(ToolCallDelta(index, call.id, call.name),))
            for at in range(0, len(call.arguments), size):
                yield StreamChunk(tool_deltas=(
                    ToolCallDelta(index, arguments=call.arguments[at:at + size]),))
        if turn.tool_calls:
            yield StreamChunk(tool_calls=turn.tool_calls)
        usage = self._usage(turn, request) if turn.stream_usage else None
        yield StreamChunk(finish_reason=turn.finish_reason, usage=usage)

    def gateway(self, *names: str, **fields: Any) -> Gateway:
        """A `Gateway` whose models `names` (default: one called `scripted`) are all answered
        by this provider.

        Args:
            *names: model names (the requests' `model=`).
            **fields: `ModelInfo` fields for every model (`input_price`, `tier`, ...) and
                `Gateway` arguments (`ledger`, `budgets`, `cache`, `wrappers`, `router`).
        """
        gateway_args = {k: fields.pop(k) for k in ("ledger", "budgets", "cache", "wrappers",
                                                   "router", "prices") if k in fields}
        models = {name: ModelInfo(**{"name": name, "provider": self.name, "model_id": name,
                                     **fields})
                  for name in names or ("scripted",)}
        return Gateway(models, env={}, providers=dict.fromkeys(models, self), **gateway_args)

    def __repr__(self) -> str:
        return f"ScriptedProvider({self.pending} scripted, {len(self.calls)} calls)"

