"""The provider interface: two async methods. Adapters, and every wrapper around them
(retry, circuit breaker, fallback, cache, tracing), implement exactly this.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk

__all__ = ["Provider"]


@runtime_checkable
class Provider(Protocol):
    """An LLM backend (or a wrapper around one).

    Adapters translate SDK exceptions into `aios.errors.ProviderError` subclasses
    (`TransientProviderError` for what a retry may fix, `PermanentProviderError` otherwise);
    they never retry, cache or trace on their own.
    """

    #: The registered provider name (`openai`, `anthropic`, `local`, ...).
    name: str

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """One completion of `request` on `model`."""
        ...

    def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """Stream the completion; the last chunk carries usage and the finish reason."""
        ...
