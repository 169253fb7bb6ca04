"""What the gateway composes: a router, a response cache, provider wrappers.

Each is a small object with one interface, handed to `Gateway(...)`; the gateway never imports
their implementations (routing/, reliability/, observability/ provide them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from aios.llm.provider import Provider
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo

__all__ = ["ResponseCache", "RouteDecision", "Router", "Wrapper"]


@runtime_checkable
class RouteDecision(Protocol):
    """A router's choice: the model's manifest name and why."""

    @property
    def model(self) -> str:
        """The chosen model's name (a key of the manifest's `models:`)."""
        ...

    @property
    def reason(self) -> str:
        """Why, in a few words (shown by `aios ask` and recorded in the ledger)."""
        ...


@runtime_checkable
class Router(Protocol):
    """Chooses a model for a request that names neither a model nor a tier.

    `candidates` are the configured models that can serve the request (capabilities and
    context window checked). `route` may be a plain or an async method.
    """

    def route(self, request: LLMRequest,
              candidates: list[ModelInfo]) -> RouteDecision | Awaitable[RouteDecision]:
        """The model to use for `request`."""
        ...


@runtime_checkable
class ResponseCache(Protocol):
    """A response cache consulted before a call and filled after it."""

    async def get(self, request: LLMRequest, model: ModelInfo) -> LLMResponse | None:
        """A stored response for `request` on `model`, or None."""
        ...

    async def put(self, request: LLMRequest, model: ModelInfo, response: LLMResponse) -> None:
        """Store `response` for `request` on `model`."""
        ...


#: Wraps a provider (retry, breaker, fallback, tracing ...); applied in list order, so the
#: last wrapper is the outermost.
Wrapper = Callable[[Provider, ModelInfo], Provider]
