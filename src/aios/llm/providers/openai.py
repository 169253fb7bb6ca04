"""The `openai` provider: the official SDK (AsyncOpenAI) against any OpenAI-compatible endpoint.

Options (`params:`): `organization` (OpenAI org id), `extra_body` (a mapping merged into every
request body, for server-specific parameters such as `reasoning_effort`), `tool_grammar`
(true: tool calls by grammar instead of native `tools`, for a llama.cpp server and a small
model; see below).

Tool calls are native (`tools`, `tool_choice: "auto"`: llama-cpp-python's server ignores the
tools without an explicit choice) unless `tool_grammar` is set. A llama.cpp server can only
offer native calls through a chat format that drops tool results from the prompt
(llama-cpp-python's `chatml-function-calling`), so a model there cannot use one tool's output
in the next call; with `tool_grammar` the tools are described in a system message, tool results
go back as plain messages, and the reply is constrained by llama.cpp's grammar
(`response_format: {"type": "json_object", "schema": ...}`) to one valid call or an answer
(`aios.llm.tool_grammar`).

Usage mapping: `prompt_tokens` (cached tokens inside) -> input_tokens,
`prompt_tokens_details.cached_tokens` -> cache_read_tokens, `completion_tokens` (reasoning
inside) -> output_tokens, `completion_tokens_details.reasoning_tokens` -> reasoning_tokens.
A stream whose server reports no usage is counted by the gateway's estimate (`counted=True`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar

from aios.errors import TransientProviderError
from aios.llm.providers.registry import register_provider, sampling_options, whole_reply
from aios.llm.providers.sdk import SdkProvider
from aios.llm.providers.sdk_post import JsonPost
from aios.llm.tokens import estimate_request_tokens, estimate_tokens
from aios.llm.tool_grammar import grammar_messages, grammar_response_format, parse_reply
from aios.llm.types import (
    LLMRequest,
    LLMResponse,
    Message,
    ModelInfo,
    StreamChunk,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["OpenAIProvider", "openai_messages", "openai_response_format"]

_INSTALL = "pip install 'aios[openai]'"


def openai_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Messages in the chat-completions wire format."""
    out: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.name:
            item["name"] = m.name
        if m.tool_call_id:
            item["tool_call_id"] = m.tool_call_id
        if m.tool_calls:
            item["tool_calls"] = [{"id": c.id, "type": "function",
                                   "function": {"name": c.name, "arguments": c.arguments}}
                                  for c in m.tool_calls]
            item["content"] = m.content or None
        out.append(item)
    return out


def openai_response_format(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`response_format` for a JSON Schema (`{}`: any JSON object)."""
    if not schema:
        return {"type": "json_object"}
    return {"type": "json_schema",
            "json_schema": {"name": "output", "schema": dict(schema), "strict": False}}


def _tool_choice(choice: str | None) -> Any:
    """`tool_choice` in the wire format (a tool's name becomes the named-function form)."""
    if choice in (None, "auto", "required", "none"):
        return choice or "auto"
    return {"type": "function", "function": {"name": choice}}


def _get(raw: Any, name: str) -> Any:
    """Field `name` of a parsed body (a dict) or of an SDK model (an attribute)."""
    return raw.get(name) if isinstance(raw, Mapping) else getattr(raw, name, None)


def _usage(raw: Any) -> Usage | None:
    """The usage of a completion or a stream's last chunk (a dict or an SDK model)."""
    if raw is None:
        return None
    prompt_details = _get(raw, "prompt_tokens_details")
    completion_details = _get(raw, "completion_tokens_details")
    return Usage(
        input_tokens=int(_get(raw, "prompt_tokens") or 0),
        output_tokens=int(_get(raw, "completion_tokens") or 0),
        cache_read_tokens=int((prompt_details and _get(prompt_details, "cached_tokens")) or 0),
        cache_write_tokens=int((prompt_details and _get(prompt_details, "cache_write_tokens"))
                               or 0),
        reasoning_tokens=int((completion_details
                              and _get(completion_details, "reasoning_tokens")) or 0))


def _calls(message: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    """The tool calls of a completion's message (the body's JSON)."""
    calls = []
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping):
            calls.append(ToolCall(str(call.get("id") or ""), str(function.get("name") or ""),
                                  function.get("arguments") or ""))
    return tuple(calls)


def _read_chunk(chunk: Any, calls: dict[int, dict[str, str]],
                finish: str | None) -> tuple[str | None, list[str], list[ToolCallDelta]]:
    """A stream event's finish reason (else `finish`), text pieces and tool-call fragments;
    the fragments are also added to `calls` (by index). AttributeError / TypeError: not a
    chunk."""
    pieces = []
    deltas = []
    for choice in chunk.get("choices") or ():
        finish = choice.get("finish_reason") or finish
        delta = choice.get("delta") or {}
        for call in delta.get("tool_calls") or ():
            index = int(call.get("index") or 0)
            slot = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
            function = call.get("function") or {}
            piece = ToolCallDelta(index, str(call.get("id") or ""),
                                  str(function.get("name") or ""),
                                  str(function.get("arguments") or ""))
            slot["id"] = piece.id or slot["id"]
            slot["name"] = piece.name or slot["name"]
            slot["arguments"] += piece.arguments
            deltas.append(piece)
        if delta.get("content"):
            pieces.append(str(delta["content"]))
    return finish, pieces, deltas


@register_provider("openai")
class OpenAIProvider(SdkProvider):
    """Chat completions over the official `openai` SDK; retries are off (the reliability
    layer owns them)."""

    pricing_id: ClassVar[str | None] = "openai"
    default_api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    default_context_window: ClassVar[int] = 8192
    default_tools: ClassVar[bool] = True
    default_json: ClassVar[bool] = True
    install_hint: ClassVar[str] = _INSTALL
    sdk_module: ClassVar[str] = "openai"
    sdk_error: ClassVar[str] = "OpenAIError"
    api_label: ClassVar[str] = "the OpenAI API"
    options: ClassVar[frozenset[str]] = frozenset({"organization", "extra_body",
                                                    "tool_grammar"})

    _poster: JsonPost | None = None

    def _open(self, sdk: Any) -> Any:
        return sdk.AsyncOpenAI(api_key=self.api_key or "unused", base_url=self.model.base_url,
                               organization=self.model.params.get("organization"),
                               timeout=self.model.timeout_s, max_retries=0)

    @staticmethod
    def _by_grammar(request: LLMRequest, model: ModelInfo) -> bool:
        """Whether this request's tool calls are made by grammar (`tool_grammar`)."""
        return bool(request.tools) and bool(model.params.get("tool_grammar"))

    def _kwargs(self, request: LLMRequest, model: ModelInfo) -> dict[str, Any]:
        grammar = self._by_grammar(request, model)
        kwargs: dict[str, Any] = {"model": model.model_id, "messages": (
            grammar_messages(request.messages, request.tools) if grammar
            else openai_messages(request.messages))}
        max_tokens = request.max_tokens or model.max_output_tokens
        if max_tokens is not None:
            # The official API renamed it; OpenAI-compatible servers still read max_tokens.
            key = "max_tokens" if model.base_url else "max_completion_tokens"
            kwargs[key] = max_tokens
        kwargs.update(sampling_options(request))
        if grammar:
            kwargs["response_format"] = grammar_response_format(request.tools,
                                                                request.tool_choice)
        elif request.tools:
            kwargs["tools"] = [dict(t) for t in request.tools]
            kwargs["tool_choice"] = _tool_choice(request.tool_choice)
        if request.response_format is not None and not grammar:
            kwargs["response_format"] = openai_response_format(request.response_format)
        extra = model.params.get("extra_body")
        if extra:
            kwargs["extra_body"] = dict(extra)
        return kwargs

    def _json_post(self) -> Callable[[Any], Awaitable[Any]]:
        """The chat-completions POST: the SDK's request built once per client (`JsonPost`),
        else (an SDK without the parts it uses) the SDK's `post`, read as JSON."""
        client = self._connect()
        if self._poster is None or self._poster.client is not client:
            self._poster = JsonPost.of(self._sdk, client, "/chat/completions")
        if self._poster is not None:
            return self._poster

        async def post(body: Any) -> Any:
            return await client.post("/chat/completions", body=body, cast_to=object)

        return post

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """One chat completion.

        Sent as the SDK would send it and read as JSON: the same URL, headers, errors and
        connection pool as `chat.completions.create`, without building its typed parameters
        and response models, nor its request anew each time (`JsonPost`: together two thirds
        of the call's CPU time in front of a fast upstream, `bench/openai_endpoint.py`).
        """
        post = self._json_post()
        started = time.perf_counter()
        body = self._kwargs(request, model)
        body.update(body.pop("extra_body", None) or {})
        try:
            raw = await post(body)
        except self._errors() as exc:
            raise self._translate(exc, model) from exc
        choices = raw.get("choices") if isinstance(raw, Mapping) else None
        if not choices or not isinstance(choices[0], Mapping):
            raise TransientProviderError(
                f"{self.name} model {model.model_id!r}: the response has no choices",
                provider=self.name, model=model.model_id)
        choice = choices[0]
        message = choice.get("message")
        message = message if isinstance(message, Mapping) else {}
        calls = _calls(message)
        text = message.get("content") or ""
        finish = choice.get("finish_reason")
        if self._by_grammar(request, model):  # the grammar made the reply a call or an answer
            text, calls = parse_reply(text)
            finish = "tool_calls" if calls else finish
        usage = _usage(raw.get("usage")) or Usage(
            input_tokens=estimate_request_tokens(request), output_tokens=estimate_tokens(text),
            counted=True)
        return LLMResponse(text=text, model=model.name, provider=self.name, usage=usage,
                           tool_calls=calls, finish_reason=finish,
                           latency_s=time.perf_counter() - started,
                           response_model=raw.get("model"))

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """Stream a chat completion (SSE), asking the server to report usage at the end; a
        reply made by grammar comes whole, in one chunk once it parses."""
        if self._by_grammar(request, model):
            for chunk in whole_reply(await self.complete(request, model)):
                yield chunk
            return
        client = self._connect()
        body = self._kwargs(request, model)
        body.update(body.pop("extra_body", None) or {})
        body.update(stream=True, stream_options={"include_usage": True})
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage: Usage | None = None
        finish: str | None = None
        response: Any = None
        received = 0
        try:
            # The SDK's SSE stream, each event read as JSON (as `complete` does).
            response = await client.post("/chat/completions", body=body, cast_to=object,
                                         stream=True, stream_cls=self._sdk.AsyncStream[object])
            async for chunk in response:
                received += 1
                try:
                    usage = _usage(chunk.get("usage")) or usage
                    finish, pieces, deltas = _read_chunk(chunk, calls, finish)
                except (AttributeError, TypeError) as exc:  # not the shape of a chunk
                    raise ValueError(f"a stream event of an unexpected shape ({exc}): "
                                     f"{chunk!r:.200}") from None
                for piece in pieces:
                    text.append(piece)
                    yield StreamChunk(text=piece)
                if deltas:  # the calls' pieces as they come; the whole calls at the end
                    yield StreamChunk(tool_deltas=tuple(deltas))
        except self._errors() as exc:
            raise self._translate(exc, model) from exc
        finally:
            if response is not None:  # release the connection even when the caller stops early
                with contextlib.suppress(Exception):
                    await response.close()
        if received == 0:  # a 200 whose body held no event: truncated or not SSE at all
            raise TransientProviderError(
                f"{self.name} model {model.model_id!r}: the stream ended without any event "
                "(malformed or truncated response)", provider=self.name, model=model.model_id)
        if usage is None:
            usage = Usage(input_tokens=estimate_request_tokens(request),
                          output_tokens=estimate_tokens("".join(text)), counted=True)
        tool_calls = tuple(ToolCall(c["id"], c["name"], c["arguments"])
                           for _, c in sorted(calls.items()))
        yield StreamChunk(tool_calls=tool_calls, finish_reason=finish, usage=usage)
