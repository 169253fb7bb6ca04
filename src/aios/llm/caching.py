"""The response cache as a gateway wrapper (the cache itself lives in `aios.routing`).

Outside the budget (a hit costs nothing and reserves nothing) and inside the ledger (a hit is
recorded, as `cached`). A hit is looked up under the planned model; an answer is stored under
the model that really answered, for `complete` and `stream` alike, so a later call that plans
that model finds it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping

from aios.llm.interfaces import ResponseCache
from aios.llm.provider import Provider
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk
from aios.llm.wrapper import WrapperProvider, closing

__all__ = ["CacheProvider"]


class CacheProvider(WrapperProvider):
    """Answers from `cache` when it can; stores what the stack below answers.

    Args:
        inner: the stack below.
        cache: the response cache (`get` before, `put` after).
        models: configured models by name (to store under the model that answered).
    """

    def __init__(self, inner: Provider, cache: ResponseCache, models: Mapping[str, ModelInfo]):
        super().__init__(inner)
        self.cache = cache
        self.models = models

    async def _hit(self, request: LLMRequest, model: ModelInfo) -> LLMResponse | None:
        if not request.cache:
            return None
        hit = await self.cache.get(request, model)
        return None if hit is None else dataclasses.replace(hit, cached=True, cost_usd=0.0)

    async def _put(self, request: LLMRequest, model: ModelInfo, response: LLMResponse) -> None:
        if request.cache:
            await self.cache.put(request, self.models.get(response.model, model), response)

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """A cached answer, else `inner.complete` (then stored)."""
        hit = await self._hit(request, model)
        if hit is not None:
            return hit
        response = await self.inner.complete(request, model)
        await self._put(request, model, response)
        return response

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """A cached answer as one chunk, else `inner.stream` (stored when it ends)."""
        hit = await self._hit(request, model)
        if hit is not None:
            yield StreamChunk(text=hit.text, tool_calls=hit.tool_calls,
                              finish_reason=hit.finish_reason, usage=hit.usage, response=hit)
            return
        async with closing(self.inner.stream(request, model)) as source:
            async for chunk in source:
                if chunk.response is not None:
                    await self._put(request, model, chunk.response)
                yield chunk
