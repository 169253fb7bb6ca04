"""A target behind an OpenAI-compatible chat completions endpoint (the official `openai` SDK)."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, Self

from pydantic import Field

from aios.errors import ConfigError, PermanentProviderError, TransientProviderError
from aios.evaluation.datasets import Sample
from aios.evaluation.targets.base import (
    Target,
    TargetContext,
    TargetOutput,
    TargetParams,
    register_target,
    request_for,
)

__all__ = ["HttpParams", "HttpTarget"]



class HttpParams(TargetParams):
    """`target: {type: http, base_url: http://host/v1, model: name}`."""

    base_url: str = Field(description="The endpoint, e.g. http://127.0.0.1:8000/v1.")
    model: str = Field(description="The model name the endpoint expects.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the "
                                                           "API key (unset: no key is sent).")
    system: str | None = Field(None, description="System prompt put before each input.")
    max_tokens: int | None = Field(256, ge=1, description="Cap on output tokens.")
    temperature: float | None = Field(0.0, ge=0, description="Sampling temperature.")
    timeout: float = Field(60.0, gt=0, description="Seconds per request.")
    input_price: float = Field(0.0, ge=0, description="USD per million input tokens.")
    output_price: float = Field(0.0, ge=0, description="USD per million output tokens.")


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@register_target("http")
class HttpTarget(Target[HttpParams]):
    """An OpenAI-compatible chat completions endpoint, called with the official SDK."""

    Params = HttpParams

    def __init__(self, params: HttpParams, ctx: TargetContext):
        super().__init__(params, ctx)
        self._client: Any = None

    async def __aenter__(self) -> Self:
        p = self.params
        try:
            import openai
        except ImportError as exc:
            raise ConfigError("the `http` target needs the openai SDK: "
                              "pip install 'aios[eval]'") from exc
        self._client = openai.AsyncOpenAI(
            base_url=p.base_url, api_key=os.environ.get(p.api_key_env) or "unset",
            timeout=p.timeout, max_retries=0)  # the harness retries, once, for everyone
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._client is not None:
            await self._client.close()

    async def __call__(self, sample: Sample) -> TargetOutput:
        import openai

        p = self.params
        messages = [{"role": m.role, "content": m.content}
                    for m in request_for(sample, system=p.system).messages]
        kwargs: dict[str, Any] = {"model": p.model, "messages": messages}
        if p.max_tokens is not None:
            kwargs["max_tokens"] = p.max_tokens
        if p.temperature is not None:
            kwargs["temperature"] = p.temperature
        try:
            reply = await self._client.chat.completions.create(**kwargs)
        except openai.RateLimitError as exc:
            raise TransientProviderError(f"{p.base_url}: rate limited: {exc}", provider="http",
                                         model=p.model, status=429,
                                         retry_after=_retry_after(exc)) from exc
        except (openai.APITimeoutError, openai.APIConnectionError,
                openai.InternalServerError) as exc:
            raise TransientProviderError(f"{p.base_url}: {type(exc).__name__}: {exc}",
                                         provider="http", model=p.model) from exc
        except openai.APIError as exc:
            raise PermanentProviderError(f"{p.base_url}: {type(exc).__name__}: {exc}",
                                         provider="http", model=p.model,
                                         status=getattr(exc, "status_code", None)) from exc
        usage = reply.usage
        tokens_in = usage.prompt_tokens if usage else 0
        tokens_out = usage.completion_tokens if usage else 0
        choice = reply.choices[0] if reply.choices else None
        return TargetOutput(
            output=(choice.message.content or "") if choice else "",
            input_tokens=tokens_in, output_tokens=tokens_out,
            cost_usd=(tokens_in * p.input_price + tokens_out * p.output_price) / 1e6,
            model=reply.model or p.model,
            metadata={"finish_reason": choice.finish_reason if choice else None})

    def describe(self) -> str:
        return f"http:{self.params.model}"
