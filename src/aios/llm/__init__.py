"""The model gateway: one door to every LLM, with routing, caching, budgets and a cost ledger.

`build_gateway(manifest.models, manifest.budgets, store=...)` gives a `Gateway`;
`await gateway.complete("prompt")` or `async for chunk in gateway.stream(...)`;
`gateway.bind(run_id=..., agent=...)` is what handlers receive as `ctx.llm`.

Every concern of a call (cost, tracing, reliability, guardrails, output check, budget, cache,
ledger) is a `WrapperProvider` over the one `Provider` interface; `gateway.py` draws the stack.
"""

from aios.llm.budget import BudgetManager
from aios.llm.config import (
    BudgetLimit,
    BudgetsConfig,
    ModelCapabilities,
    ModelPrices,
    ModelSpec,
    default_models,
    model_infos,
)
from aios.llm.factory import build_gateway
from aios.llm.gateway import BoundGateway, Gateway
from aios.llm.interfaces import ResponseCache, RouteDecision, Router, Wrapper
from aios.llm.ledger import CallRecord, CostLedger
from aios.llm.pricing import FREE, Prices, PriceTable, Rate, cost_usd
from aios.llm.provider import Provider
from aios.llm.providers import (
    ProviderBase,
    create_provider,
    register_provider,
    registered_providers,
)
from aios.llm.types import LLMRequest, LLMResponse, Message, ModelInfo, StreamChunk, ToolCall, Usage
from aios.llm.wrapper import WrapperProvider

__all__ = [
    "FREE",
    "BoundGateway",
    "BudgetLimit",
    "BudgetManager",
    "BudgetsConfig",
    "CallRecord",
    "CostLedger",
    "Gateway",
    "LLMRequest",
    "LLMResponse",
    "Message",
    "ModelCapabilities",
    "ModelInfo",
    "ModelPrices",
    "ModelSpec",
    "PriceTable",
    "Prices",
    "Provider",
    "ProviderBase",
    "Rate",
    "ResponseCache",
    "RouteDecision",
    "Router",
    "StreamChunk",
    "ToolCall",
    "Usage",
    "Wrapper",
    "WrapperProvider",
    "build_gateway",
    "cost_usd",
    "create_provider",
    "default_models",
    "model_infos",
    "register_provider",
    "registered_providers",
]
