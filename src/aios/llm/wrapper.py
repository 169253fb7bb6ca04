"""The one forwarding base of every gateway concern.

Cost, tracing, time limits, bulkheads, breakers, retries, fallback, guardrails, output checks,
budgets, the response cache and the cost ledger each wrap a `Provider` and are one themselves
(the shape of pydantic-ai's `WrapperModel`): a subclass overrides `complete` and `stream` where
its concern applies and inherits plain forwarding for the rest, so wrappers compose in any order
and anything an adapter offers beyond the two methods (`count_tokens`, `aclose`) stays
reachable through them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aios.llm.provider import Provider
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk

__all__ = ["WrapperProvider", "aclose_quietly", "closing"]

T = TypeVar("T")


async def aclose_quietly(stream: Any) -> None:
    """Close an async iterator that can be closed (`aclose`), e.g. when its reader stopped."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


@asynccontextmanager
async def closing(stream: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """`stream`, closed on exit: a wrapper whose reader stops early closes the stream below at
    once, so the layers under it finish (settle, record, end spans) in order."""
    try:
        yield stream
    finally:
        await aclose_quietly(stream)


class WrapperProvider:
    """A `Provider` that forwards to `inner`; subclasses add one concern each.

    Args:
        inner: the provider (adapter or wrapper) this one wraps.
    """

    def __init__(self, inner: Provider):
        self.inner = inner
        self.name = inner.name

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """`inner.complete`."""
        return await self.inner.complete(request, model)

    def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """`inner.stream`."""
        return self.inner.stream(request, model)

    def __getattr__(self, item: str) -> Any:
        # Only reached for names this wrapper lacks: an adapter's extras (count_tokens, ...).
        if item == "inner":  # not yet set (copy, pickle): never recurse
            raise AttributeError(item)
        return getattr(self.inner, item)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"
