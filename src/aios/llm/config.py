"""The manifest's `models:` and `budgets:` sections, and how they become `ModelInfo`s.

Example::

    models:
      fast:  {provider: openai, model: gpt-4o-mini, tier: simple, api_key_env: OPENAI_API_KEY}
      smart: {provider: anthropic, model: claude-sonnet-4-0, tier: complex}
      box:   {provider: openai, model: smollm2, base_url: "http://127.0.0.1:8000/v1",
              prices: {input: 0, output: 0}}
    budgets:
      run:    {tokens: 200000, usd: 2.0}
      agent:  {usd: 0.5}
      tenant: {usd: 100, period: month}

With no `models:` at all, one model named `local` (SmolLM2-135M-Instruct, in-process) serves
every tier, so everything works offline with no key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aios.errors import ConfigError
from aios.llm.providers import provider_class, registered_providers
from aios.llm.types import ModelInfo

__all__ = ["TIERS", "BudgetLimit", "BudgetsConfig", "ModelCapabilities", "ModelPrices",
           "ModelSpec", "default_models", "model_infos"]

#: Tiers from cheapest to most capable.
TIERS = ("simple", "medium", "complex")

Tier = Literal["simple", "medium", "complex"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelCapabilities(_Frozen):
    """What the model can do; unset fields take the provider's defaults."""

    tools: bool | None = Field(default=None, description="Accepts tool (function) definitions.")
    json_output: bool | None = Field(
        default=None, alias="json",
        description="Can be asked for JSON output (`response_format`).")
    streaming: bool = Field(default=True, description="Can stream its answer.")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ModelPrices(_Frozen):
    """Price overrides in USD per million tokens; unset classes come from genai-prices."""

    input: float | None = Field(default=None, ge=0, description="Uncached prompt tokens.")
    output: float | None = Field(default=None, ge=0, description="Generated tokens.")
    cache_read: float | None = Field(
        default=None, ge=0, description="Prompt tokens read from cache.")
    cache_write: float | None = Field(
        default=None, ge=0, description="Prompt tokens written to cache.")
    reasoning: float | None = Field(
        default=None, ge=0, description="Reasoning tokens (default: the output price).")


class ModelSpec(_Frozen):
    """One model the gateway may call."""

    provider: str = Field(description="A registered provider: openai, anthropic, local, ...")
    model: str | None = Field(
        default=None,
        description="The provider's model id (default: the provider's default, if any).")
    tier: Tier = Field(
        default="simple", description="simple | medium | complex: what the router asks for.")
    base_url: str | None = Field(
        default=None,
        description="Endpoint URL (for OpenAI-compatible servers: ending in /v1).")
    api_key_env: str | None = Field(
        default=None,
        description="NAME of the environment variable holding the API key (never the key).")
    context_window: int | None = Field(
        default=None, gt=0,
        description="Prompt plus output tokens the model accepts (default: genai-prices, "
                    "else the provider's default).")
    max_output_tokens: int | None = Field(
        default=None, gt=0, description="Output cap used when a request sets no max_tokens.")
    capabilities: ModelCapabilities = Field(
        default_factory=ModelCapabilities, description="tools, json, streaming.")
    prices: ModelPrices = Field(
        default_factory=ModelPrices, description="USD per million tokens, by token class.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Provider options (local: model_path, n_ctx, "
                                          "n_threads; openai: organization, extra_body).")
    timeout: float = Field(default=60.0, gt=0, description="Seconds one HTTP request may take.")

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in registered_providers():
            raise ValueError(f"unknown provider {value!r}; registered providers: "
                             f"{', '.join(registered_providers())}")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(
                "api_key_env is the NAME of the environment variable that holds the key "
                "(for example OPENAI_API_KEY), never the key itself")
        return value

    @model_validator(mode="after")
    def _provider_rules(self) -> ModelSpec:
        if self.provider not in registered_providers():
            return self  # already reported by the field validator
        cls = provider_class(self.provider)
        if self.model is None and cls.default_model is None:
            raise ValueError(f"provider {self.provider!r} needs `model:` (the provider's "
                             "model id, for example gpt-4o-mini)")
        unknown = sorted(set(self.params) - cls.options)
        if unknown:
            raise ValueError(f"provider {self.provider!r} does not accept params "
                             f"{', '.join(unknown)}; accepted: "
                             f"{', '.join(sorted(cls.options)) or 'none'}")
        return self


class BudgetLimit(_Frozen):
    """A ceiling on tokens and/or dollars; unset means no limit on that measure."""

    tokens: int | None = Field(
        default=None, ge=0, description="Total tokens (input plus output).")
    usd: float | None = Field(default=None, ge=0, description="Total cost in USD.")
    period: Literal["total", "day", "month"] = Field(
        default="total",
        description="For tenant and user budgets: the window spend is summed over (UTC "
                    "calendar day or month, or all time). Run and agent budgets always cover "
                    "one run.")


class BudgetsConfig(_Frozen):
    """Budgets checked before every LLM call; a call that would exceed one is refused."""

    run: BudgetLimit | None = Field(default=None, description="Every run (sub-calls included).")
    agent: BudgetLimit | None = Field(default=None, description="Each agent within one run.")
    tenant: BudgetLimit | None = Field(default=None, description="Each tenant (default limit).")
    user: BudgetLimit | None = Field(default=None, description="Each user (default limit).")
    agents: dict[str, BudgetLimit] = Field(
        default_factory=dict, description="Per-agent overrides of `agent`, by agent name.")
    tenants: dict[str, BudgetLimit] = Field(
        default_factory=dict, description="Per-tenant overrides of `tenant`, by tenant name.")
    users: dict[str, BudgetLimit] = Field(
        default_factory=dict, description="Per-user overrides of `user`, by user name.")

    @property
    def empty(self) -> bool:
        """True when no budget is configured at all."""
        return not any((self.run, self.agent, self.tenant, self.user, self.agents,
                        self.tenants, self.users))


def default_models() -> dict[str, ModelSpec]:
    """What `models:` means when empty: the packaged local model for every tier."""
    return {"local": ModelSpec(provider="local", tier="simple")}


def model_infos(specs: Mapping[str, ModelSpec]) -> dict[str, ModelInfo]:
    """`ModelInfo` for each spec (provider defaults filled in); the default model if none.

    A model without `context_window` gets its provider's default here; the gateway factory
    replaces it with the window genai-prices knows, when it knows one.

    Raises:
        ConfigError: a model name is malformed or names an unknown provider.
    """
    out: dict[str, ModelInfo] = {}
    for name, spec in (specs or default_models()).items():
        if not _MODEL_NAME.match(name):
            raise ConfigError(f"model name {name!r} must be letters, digits, '.', '_' or '-'")
        cls = provider_class(spec.provider)
        caps = spec.capabilities
        context = spec.context_window or cls.default_context_window
        out[name] = ModelInfo(
            name=name, provider=spec.provider, model_id=spec.model or cls.default_model or name,
            tier=spec.tier, context_window=context,
            max_output_tokens=spec.max_output_tokens or cls.default_max_output,
            supports_tools=cls.default_tools if caps.tools is None else caps.tools,
            supports_json=cls.default_json if caps.json_output is None else caps.json_output,
            supports_streaming=caps.streaming, input_price=spec.prices.input,
            output_price=spec.prices.output, cache_read_price=spec.prices.cache_read,
            cache_write_price=spec.prices.cache_write, reasoning_price=spec.prices.reasoning,
            params=dict(spec.params), base_url=spec.base_url, api_key_env=spec.api_key_env,
            timeout_s=spec.timeout)
    return out
