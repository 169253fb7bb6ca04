"""The OpenAI-compatible endpoint: `POST /v1/chat/completions` and `GET /v1/models`.

Any application that speaks the OpenAI API reaches the model gateway by pointing its `base_url`
at `aios serve`: each request becomes an `LLMRequest` and goes through `Gateway.complete` or
`Gateway.stream`, so routing, the response cache, budgets, guardrails, reliability, the cost
ledger and traces all apply. The bearer token is an Ai:oS API token (`aios keys create USER`,
or `aios users token NAME`); the call is attributed to its user, to the key and to the key's
tenant (`aios keys create --tenant`: tenant budgets, the cache namespace `tenant/user`, the
ledger, traces, `aios metrics`). `model` names a manifest model, a tier (`simple`, `medium`,
`complex`), or `auto` (the router decides); the response's `model` says which model answered
and the `x-aios-route-reason` header why. Each key is limited to its own requests and tokens
per minute when `aios keys create` gave it some, else to those the manifest's `endpoint:`
section gives its user; a key's models restrict `model`, and its budget is checked by the
gateway with the others. Refusals use OpenAI's error format and statuses (see `openai_format`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from aios.auth.keys import AUTO
from aios.auth.tokens import TokenInfo
from aios.auth.users import User
from aios.errors import (
    AiosError,
    AuthenticationError,
    BudgetExceeded,
    ConfigError,
    GuardrailTripped,
    InvalidOutput,
    NotFoundError,
    ProviderError,
    TransientProviderError,
    UsageError,
)
from aios.llm.config import TIERS
from aios.llm.types import LLMRequest, LLMResponse, StreamChunk, Usage
from aios.llm.wrapper import aclose_quietly
from aios.manifest.endpoint import KeyLimits
from aios.server.app import Services
from aios.server.openai_format import (
    ChatRequest,
    OpenAIError,
    aios_json,
    chunk,
    completion,
    finish_reason,
    new_id,
    parse_chat,
    to_request,
    tool_call_delta,
    tool_piece_delta,
    usage_json,
)
from aios.server.ratelimit import KeyRateLimiter, LimitVerdict

__all__ = ["AUTO", "Admission", "admit", "error_response", "router"]

router = APIRouter(prefix="/v1", tags=["openai"])

ROUTE_HEADER = "x-aios-route-reason"
JSON = "application/json"


def error_response(exc: OpenAIError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)


def _as_openai(exc: AiosError) -> OpenAIError:
    """OpenAI's status, type and code for an Ai:oS error."""
    message = str(exc)
    if isinstance(exc, BudgetExceeded):
        return OpenAIError(429, f"Budget exceeded: {message}", type="insufficient_quota",
                           code="insufficient_quota")
    if isinstance(exc, GuardrailTripped):
        return OpenAIError(400, f"Refused by a guardrail: {message}", code="content_filter")
    if isinstance(exc, InvalidOutput):
        return OpenAIError(502, f"The model's answer did not satisfy response_format: "
                                f"{message}", type="api_error", code="invalid_output")
    if isinstance(exc, TransientProviderError):
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if exc.retry_after \
            else None
        return OpenAIError(503, f"The upstream model is unavailable: {message}",
                           type="api_error", code="upstream_unavailable", headers=headers)
    if isinstance(exc, ProviderError):
        return OpenAIError(502, f"The upstream model failed: {message}", type="api_error",
                           code="upstream_error")
    if isinstance(exc, NotFoundError):
        return OpenAIError(404, message, code="not_found")
    if isinstance(exc, ConfigError | UsageError):
        return OpenAIError(400, message, code="invalid_value")
    return OpenAIError(500, message, type="server_error", code="internal_error")


async def _authenticate(request: Request, services: Services) -> tuple[User, TokenInfo]:
    """The key's user and the key (its id and policy)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    try:
        return await services.tokens.verify(token or None)
    except AuthenticationError as exc:
        raise OpenAIError(401, f"Invalid API key: {exc}", code="invalid_api_key",
                          headers={"WWW-Authenticate": "Bearer"}) from None


def _limiter(request: Request, services: Services) -> KeyRateLimiter:
    limiter: KeyRateLimiter | None = getattr(request.app.state, "openai_limiter", None)
    if limiter is None:
        settings = services.settings
        limiter = KeyRateLimiter(settings.redis_url, prefix=settings.redis_prefix)
        request.app.state.openai_limiter = limiter
    return limiter


@dataclass(frozen=True)
class Admission:
    """An admitted request: who sent it, with which key, under which limits."""

    services: Services
    user: User
    key: TokenInfo
    limits: KeyLimits
    limiter: KeyRateLimiter | None

    @property
    def key_id(self) -> str:
        return self.key.id

    def check_model(self, model: str) -> None:
        """Refuse a `model` the key may not ask for (403, naming the ones it may)."""
        policy = self.key.policy
        if not policy.allows(model):
            allowed = ", ".join(policy.models or ())
            raise OpenAIError(403, f"API key {self.key.id} may not use the model {model!r}; "
                                   f"it may use: {allowed} (set by `aios keys create --models`)",
                              param="model", code="model_not_allowed")

    async def spend(self, usage: Usage | None) -> None:
        """Charge a finished call's tokens to the key's tokens-per-minute window."""
        if self.limiter is not None and self.limits.tpm is not None and usage is not None:
            await self.limiter.spend_tokens(self.key_id, self.limits.tpm, usage.total_tokens)


def _over(verdict: LimitVerdict, key_id: str, user: str, what: str,
          source: str) -> OpenAIError:
    return OpenAIError(
        429, f"Rate limit reached for API key {key_id} of {user}: {verdict.limit} {what} per "
             f"minute ({source}); try again in {verdict.retry_after_s} s", type=what,
        code="rate_limit_exceeded", headers={"Retry-After": str(verdict.retry_after_s)})


def _limits(key: TokenInfo, user: str, services: Services) -> tuple[KeyLimits, dict[str, str]]:
    """The key's limits: its own, else its user's from the manifest; and where each is set."""
    policy = key.policy
    manifest = services.manifest.endpoint.limits_of(user)
    own = "the key's own limit, `aios keys create`"
    limits = manifest if not (policy.rpm or policy.tpm) else \
        KeyLimits(rpm=policy.rpm or manifest.rpm, tpm=policy.tpm or manifest.tpm)
    where = "the manifest's endpoint: section"
    return limits, {"requests": own if policy.rpm else where,
                    "tokens": own if policy.tpm else where}


async def admit(request: Request) -> Admission:
    """Authenticate the key and count the request against its limits.

    Raises:
        OpenAIError: 401 for a missing, unknown, expired or revoked key; 429 with
            Retry-After for a key over its requests or tokens per minute.
    """
    services: Services = request.app.state.services
    user, key = await _authenticate(request, services)
    limits, source = _limits(key, user.name, services)
    limiter = _limiter(request, services) if limits.rpm or limits.tpm else None
    if limiter is not None and limits.tpm is not None:
        verdict = await limiter.tokens_left(key.id, limits.tpm)
        if not verdict.allowed:
            raise _over(verdict, key.id, user.name, "tokens", source["tokens"])
    if limiter is not None and limits.rpm is not None:
        verdict = await limiter.hit(key.id, limits.rpm)
        if not verdict.allowed:
            raise _over(verdict, key.id, user.name, "requests", source["requests"])
    return Admission(services, user, key, limits, limiter)


def _target(chat: ChatRequest, gateway: Any) -> tuple[str | None, str | None]:
    """`(model, tier)` for the request's `model`."""
    if chat.model == AUTO:
        return None, None
    if chat.model in TIERS:
        return None, chat.model
    if chat.model in gateway.models:
        return chat.model, None
    known = ", ".join([*sorted(gateway.models), *TIERS, AUTO])
    raise OpenAIError(404, f"The model {chat.model!r} does not exist; this endpoint serves: "
                           f"{known} (GET /v1/models lists them)", param="model",
                      code="model_not_found")


def _header(text: str | None) -> str:
    """`text` as a header value (latin-1 only: anything else becomes `?`)."""
    return (text or "").encode("latin-1", "replace").decode("latin-1")


def _sse(payload: Any) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


async def _events(source: AsyncIterator[StreamChunk], first: StreamChunk, completion_id: str,
                  model: str, include_usage: bool, admission: Admission
                  ) -> AsyncIterator[bytes]:
    """OpenAI's SSE for a gateway stream whose first chunk is `first`."""

    def piece(delta: dict[str, Any] | None, **kw: Any) -> bytes:
        return _sse(chunk(completion_id, model, delta, with_usage=include_usage, **kw))

    try:
        yield piece({"role": "assistant", "content": ""})
        final: LLMResponse | None = None
        current: StreamChunk | None = first
        streamed = False  # tool calls went out piece by piece
        while current is not None:
            if current.text:
                yield piece({"content": current.text})
            for call_piece in current.tool_deltas:
                streamed = True
                yield piece(tool_piece_delta(call_piece))
            if current.response is not None:
                final = current.response
                break
            current = await anext(source, None)
        if final is not None:
            await admission.spend(final.usage)
            model = final.model
            if final.tool_calls and not streamed:  # a cache hit, a provider that sends
                yield piece(tool_call_delta(final.tool_calls))  # them whole
            yield piece({}, finish=finish_reason(final))
            if include_usage:
                yield piece(None, usage=usage_json(final.usage), extra={"aios": aios_json(final)})
    except AiosError as exc:
        yield _sse(_as_openai(exc).body())
    finally:
        await aclose_quietly(source)  # a client gone mid-stream cancels the upstream call
    yield b"data: [DONE]\n\n"


async def _stream(gateway: Any, llm_request: LLMRequest, chat: ChatRequest,
                  admission: Admission) -> Response:
    plan = await gateway.plan(llm_request)  # the model and reason, for the headers
    source = gateway.stream(llm_request)
    try:
        first = await anext(source)  # refusals (budget, guardrail, upstream) before the 200
    except BaseException:
        await aclose_quietly(source)
        raise
    include = bool(chat.stream_options and chat.stream_options.include_usage)
    return StreamingResponse(
        _events(source, first, new_id(), plan.model.name, include, admission),
        media_type="text/event-stream",
        headers={ROUTE_HEADER: _header(plan.reason), "x-aios-model": _header(plan.model.name),
                 "cache-control": "no-cache"})


@router.post("/chat/completions", summary="OpenAI-compatible chat completion",
             response_model=None)
async def chat_completions(request: Request) -> Response:
    """A chat completion through the gateway, in OpenAI's format (`stream: true` for SSE)."""
    try:
        admission = await admit(request)
        chat = parse_chat(await request.body())
        gateway = admission.services.runtime.llm
        model, tier = _target(chat, gateway)
        admission.check_model(chat.model)
        llm_request = to_request(chat, model=model, tier=tier, user=admission.user.name,
                                 tenant=admission.key.policy.tenant,
                                 api_key=admission.key_id,
                                 key_budget=admission.key.policy.budget)
        if chat.stream:
            return await _stream(gateway, llm_request, chat, admission)
        response: LLMResponse = await gateway.complete(llm_request)
        await admission.spend(response.usage)
    except OpenAIError as exc:
        return error_response(exc)
    except AiosError as exc:
        return error_response(_as_openai(exc))
    return Response(orjson.dumps(completion(response, new_id())), media_type=JSON,
                    headers={ROUTE_HEADER: _header(response.route_reason),
                             "x-aios-model": _header(response.model)})


@router.get("/models", summary="OpenAI-compatible model list")
async def list_models(request: Request) -> Response:
    """The manifest's models, and `auto` (the router chooses), in OpenAI's format: those the
    key may use (`aios keys create --models`)."""
    try:
        admission = await admit(request)
    except OpenAIError as exc:
        return error_response(exc)
    gateway = admission.services.runtime.llm
    policy = admission.key.policy
    data = [{"id": name, "object": "model", "created": 0, "owned_by": info.provider}
            for name, info in sorted(gateway.models.items()) if policy.allows(name)]
    if policy.allows(AUTO):
        data.append({"id": AUTO, "object": "model", "created": 0, "owned_by": "aios"})
    return JSONResponse({"object": "list", "data": data})
