"""Calling the model gateway and keeping a record of each call (its id is a claim's citation).

The discovery agent never talks to a provider: it hands an `LLMRequest` to the gateway
(`aios.llm`), which routes, caches, retries, traces and costs the call. What comes back is
kept as a `ModelCall`: the id that model-sourced claims cite, and the tokens and dollars
charged to the step.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from aios.errors import AiosError
from aios.llm.types import LLMRequest, LLMResponse

__all__ = ["LLM", "ModelCall", "ask", "parse_json"]


@runtime_checkable
class LLM(Protocol):
    """The model gateway as the discovery agent uses it (`aios.llm.Gateway` fits)."""

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """One completion."""
        ...


@dataclass(frozen=True)
class ModelCall:
    """One model call made by the agent.

    Attributes:
        id: the call's id (claims sourced from this call cite it).
        purpose: `plan`, `extract` or `ask`.
        model, provider: who answered (empty when the call failed).
        input_tokens, output_tokens, cost_usd: what it cost, as the gateway reported.
        error: why it failed, if it did (the step goes on without it).
    """

    id: str
    purpose: str
    model: str = ""
    provider: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


async def ask(llm: LLM, prompt: str, *, purpose: str, system: str | None = None,
              max_tokens: int = 256, json_mode: bool = False,
              tags: Mapping[str, str] | None = None) -> tuple[str, ModelCall]:
    """Ask the gateway; return the text ("" on failure) and the call's record.

    A failing call (`AiosError` from the gateway: provider down, budget refused, guardrail)
    does not stop the mission: it is recorded with its error and the caller goes on.
    """
    call_id = uuid.uuid4().hex[:16]
    tags = dict(tags or {})
    request = LLMRequest.of(prompt, system=system, max_tokens=max_tokens, temperature=0.0,
                            response_format={} if json_mode else None,
                            run_id=tags.get("run_id"), agent="discovery",
                            action=tags.get("action", "discovery.explore"))
    try:
        response = await llm.complete(request)
    except AiosError as exc:
        return "", ModelCall(id=call_id, purpose=purpose, error=f"{type(exc).__name__}: {exc}")
    return response.text, ModelCall(
        id=call_id, purpose=purpose, model=response.model, provider=response.provider,
        input_tokens=response.usage.input_tokens, output_tokens=response.usage.output_tokens,
        cost_usd=response.cost_usd)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json(text: str) -> Any:
    """The first JSON value found in a model's reply (fenced, bare, or embedded), else None."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for start, char in enumerate(candidate):
            if char not in "[{":
                continue
            try:
                value, _ = decoder.raw_decode(candidate[start:])
            except ValueError:
                continue
            return value
    return None
