"""Helpers for the gateway tests: the scripted server fixture, model specs on it, gateways.
(The in-process provider is the package's own: `aios.testing.ScriptedProvider`.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest
from tests.support import ScriptedLLMServer

from aios.llm import (
    BudgetsConfig,
    Gateway,
    ModelSpec,
    build_gateway,
)
from aios.store import Store

KEY_ENV = {"TEST_OPENAI_KEY": "sk-test", "TEST_ANTHROPIC_KEY": "sk-ant-test"}


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    """A scripted OpenAI/Anthropic server on an ephemeral port."""
    with ScriptedLLMServer() as running:
        yield running


def openai_spec(server: ScriptedLLMServer, **overrides: Any) -> ModelSpec:
    """A model on the scripted server's OpenAI route."""
    fields: dict[str, Any] = {"provider": "openai", "model": "gpt-4o-mini",
                              "base_url": server.url + "/v1", "api_key_env": "TEST_OPENAI_KEY",
                              "timeout": 5.0}
    fields.update(overrides)
    return ModelSpec(**fields)


def anthropic_spec(server: ScriptedLLMServer, **overrides: Any) -> ModelSpec:
    """A model on the scripted server's Anthropic route."""
    fields: dict[str, Any] = {"provider": "anthropic", "model": "claude-sonnet-4-0",
                              "base_url": server.url, "api_key_env": "TEST_ANTHROPIC_KEY",
                              "timeout": 5.0}
    fields.update(overrides)
    return ModelSpec(**fields)


def gateway_for(models: Mapping[str, ModelSpec], *, budgets: BudgetsConfig | None = None,
                store: Store | None = None, env: Mapping[str, str] | None = None,
                **kwargs: Any) -> Gateway:
    """A gateway over `models` with the test keys in its environment."""
    return build_gateway(models, budgets, store=store, env=KEY_ENV if env is None else env,
                         **kwargs)


@pytest.fixture
async def gateways() -> AsyncIterator[list[Gateway]]:
    """Gateways appended here are closed after the test."""
    made: list[Gateway] = []
    yield made
    for gateway in made:
        await gateway.aclose()
