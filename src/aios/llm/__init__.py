"""The model gateway: one door to every LLM, with routing, caching, budgets and a cost ledger.

`build_gateway(manifest.models, manifest.budgets, store=...)` gives a `Gateway`;
`await gateway.complete("prompt")` or `async for chunk in gateway.stream(...)`;
`gateway.bind(run_id=..., agent=...)` is what handlers receive as `ctx.llm`.

Every concern of a call (cost, tracing, reliability, guardrails, output check, budget, cache,
ledger) is a `WrapperProvider` over the one `Provider` interface; `gateway.py` draws the stack.
"""

from aios.llm.budget import BudgetManager, Reservation
from aios.llm.config import (
    TIERS,
    BudgetLimit,
    BudgetsConfig,
    ModelCapabilities,
    ModelPrices,
    ModelSpec,
    default_models,
    model_infos,
)
from aios.llm.factory import build_gateway, build_stacks, resolve_models
from aios.llm.gateway import BoundGateway, Gateway
from aios.llm.interfaces import ResponseCache, RouteDecision, Router, Wrapper
from aios.llm.ledger import CallRecord, CostLedger, Spend, llm_calls
from aios.llm.output import JsonOutputChecker
from aios.llm.pricing import FREE, Prices, PriceTable, Rate, cost_usd
from aios.llm.provider import Provider
from aios.llm.providers import (
    ProviderBase,
    create_provider,
    provider_class,
    register_provider,
    registered_providers,
)
from aios.llm.selection import ModelSelector, Plan, build_request
from aios.llm.stacks import ModelStacks
from aios.llm.tokens import estimate_request_tokens, estimate_tokens
from aios.llm.types import (
    LLMRequest,
    LLMResponse,
    Message,
    ModelInfo,
    StreamChunk,
    ToolCall,
    Usage,
)
from aios.llm.wrapper import WrapperProvider

__all__ = [
    "FREE",
    "TIERS",
    "BoundGateway",
    "BudgetLimit",
    "BudgetManager",
    "BudgetsConfig",
    "CallRecord",
    "CostLedger",
    "Gateway",
    "JsonOutputChecker",
    "LLMRequest",
    "LLMResponse",
    "Message",
    "ModelCapabilities",
    "ModelInfo",
    "ModelPrices",
    "ModelSelector",
    "ModelSpec",
    "ModelStacks",
    "Plan",
    "PriceTable",
    "Prices",
    "Provider",
    "ProviderBase",
    "Rate",
    "Reservation",
    "ResponseCache",
    "RouteDecision",
    "Router",
    "Spend",
    "StreamChunk",
    "ToolCall",
    "Usage",
    "Wrapper",
    "WrapperProvider",
    "build_gateway",
    "build_request",
    "build_stacks",
    "cost_usd",
    "create_provider",
    "default_models",
    "estimate_request_tokens",
    "estimate_tokens",
    "llm_calls",
    "model_infos",
    "provider_class",
    "register_provider",
    "registered_providers",
    "resolve_models",
]
