"""The cost of a call, computed once, innermost: right on the adapter's answer.

`CostProvider` wraps each adapter (before any other wrapper), so every layer above it — the
LLM span, the fallback chain, the output check, the budget, the cache and the cost ledger —
reads the same `LLMResponse.cost_usd`, charged at the prices of the model that answered.

A stream ends with one chunk that carries the whole call as a response (text, usage, cost);
when the provider reported no usage, its tokens are counted (the adapter's `count_tokens`
where it has one, else estimated) and marked `counted`. A model that cannot stream answers a
stream with one text chunk and that final chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aios.llm.pricing import PriceTable, cost_usd
from aios.llm.provider import Provider
from aios.llm.tokens import estimate_request_tokens, estimate_tokens
from aios.llm.types import (
    LLMRequest,
    LLMResponse,
    ModelInfo,
    StreamChunk,
    ToolCall,
    Usage,
    evolve,
)
from aios.llm.wrapper import WrapperProvider, aclose_quietly

__all__ = ["CostProvider"]


class CostProvider(WrapperProvider):
    """Sets `cost_usd` on every answer, at the prices of `model`, from `prices`.

    Args:
        inner: the adapter.
        prices: the gateway's price table (genai-prices with the manifest's overrides).
    """

    def __init__(self, inner: Provider, prices: PriceTable):
        super().__init__(inner)
        self.prices = prices

    def charge(self, response: LLMResponse, model: ModelInfo) -> LLMResponse:
        """`response` with its cost."""
        return evolve(response, cost_usd=cost_usd(response.usage, self.prices.prices(model)))

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """`inner.complete`, costed."""
        return self.charge(await self.inner.complete(request, model), model)

    async def _prompt_tokens(self, request: LLMRequest, model: ModelInfo) -> int:
        counter = getattr(self.inner, "count_tokens", None)
        if counter is not None:
            return int(await counter(request, model))
        return estimate_request_tokens(request)

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """`inner.stream`; content-less chunks fold into one final, costed chunk."""
        if not model.supports_streaming:
            whole = await self.complete(request, model)
            yield StreamChunk(text=whole.text)
            yield StreamChunk(finish_reason=whole.finish_reason, usage=whole.usage,
                              response=whole)
            return
        source = self.inner.stream(request, model)
        pieces: list[str] = []
        calls: tuple[ToolCall, ...] = ()
        finish: str | None = None
        usage: Usage | None = None
        try:
            async for chunk in source:
                usage = chunk.usage or usage
                finish = chunk.finish_reason or finish
                calls = chunk.tool_calls or calls
                if chunk.text or chunk.tool_calls or chunk.tool_deltas:
                    pieces.append(chunk.text)
                    yield StreamChunk(text=chunk.text, tool_calls=chunk.tool_calls,
                                      tool_deltas=chunk.tool_deltas)
        finally:
            await aclose_quietly(source)
        text = "".join(pieces)
        if usage is None:
            usage = Usage(input_tokens=await self._prompt_tokens(request, model),
                          output_tokens=estimate_tokens(text), counted=True)
        response = self.charge(LLMResponse(text=text, model=model.name, provider=model.provider,
                                           usage=usage, tool_calls=calls, finish_reason=finish),
                               model)
        yield StreamChunk(finish_reason=finish, usage=usage, response=response)
