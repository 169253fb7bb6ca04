"""The `anthropic` provider: the official SDK (AsyncAnthropic), Messages API.

Mapping: system messages become the `system` parameter; `tool` messages become `tool_result`
blocks of a user turn; tools in the OpenAI function format become `input_schema` tools; a
`response_format` becomes an instruction in the system prompt (the gateway checks the JSON).

Usage mapping: Anthropic's `input_tokens` EXCLUDE cache tokens, so
input_tokens = input_tokens + cache_read_input_tokens + cache_creation_input_tokens
(the gateway's convention: all prompt tokens), cache_read_tokens = cache_read_input_tokens,
cache_write_tokens = cache_creation_input_tokens, output_tokens = output_tokens.

Options (`params:`): none.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from aios.llm.providers.registry import register_provider
from aios.llm.providers.sdk import SdkProvider
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk, ToolCall, Usage

__all__ = ["AnthropicProvider", "anthropic_payload"]

_INSTALL = "pip install 'aios[anthropic]'"
#: The Messages API requires max_tokens; used when neither the request nor the model sets it.
DEFAULT_MAX_TOKENS = 1024
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
           "tool_use": "tool_calls"}


def _tools(tools: tuple[Any, ...]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        fn = tool.get("function", tool)
        out.append({"name": fn["name"], "description": fn.get("description", ""),
                     "input_schema": fn.get("parameters") or {"type": "object",
                                                              "properties": {}}})
    return out


def _tool_input(arguments: str) -> dict[str, Any]:
    """A recorded call's arguments as the object `tool_use.input` must be.

    An agent conversation keeps calls whose arguments were not a JSON object (the model got
    an error back for them); they are sent again as an empty input rather than failing.
    """
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def anthropic_payload(request: LLMRequest, model: ModelInfo) -> dict[str, Any]:
    """The keyword arguments of `messages.create` for `request`."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            system.append(m.content)
        elif m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id or "",
                     "content": m.content}
            if turns and turns[-1]["role"] == "user" and isinstance(turns[-1]["content"], list):
                turns[-1]["content"].append(block)
            else:
                turns.append({"role": "user", "content": [block]})
        elif m.role == "assistant" and m.tool_calls:
            blocks: list[dict[str, Any]] = [{"type": "text", "text": m.content}] \
                if m.content else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name,
                        "input": _tool_input(c.arguments)} for c in m.tool_calls]
            turns.append({"role": "assistant", "content": blocks})
        else:
            turns.append({"role": m.role, "content": m.content})
    if request.response_format is not None:
        schema = dict(request.response_format)
        system.append("Reply with one JSON object and nothing else"
                      + (f", following this JSON Schema: {json.dumps(schema)}" if schema
                         else "."))
    kwargs: dict[str, Any] = {
        "model": model.model_id, "messages": turns,
        "max_tokens": request.max_tokens or model.max_output_tokens or DEFAULT_MAX_TOKENS}
    if system:
        kwargs["system"] = "\n\n".join(system)
    # Sampling parameters go in the body directly: recent SDK versions dropped them from the
    # method signature, while the HTTP API still takes them on models that support them.
    sampling = {k: v for k, v in (("temperature", request.temperature),
                                  ("top_p", request.top_p)) if v is not None}
    if sampling:
        kwargs["extra_body"] = sampling
    if request.stop:
        kwargs["stop_sequences"] = list(request.stop)
    if request.tools:
        kwargs["tools"] = _tools(request.tools)
        if request.tool_choice is not None:
            kwargs["tool_choice"] = _TOOL_CHOICE.get(
                request.tool_choice, {"type": "tool", "name": request.tool_choice})
    return kwargs


#: `LLMRequest.tool_choice` in Anthropic's terms (a tool's name: `{"type": "tool", ...}`).
_TOOL_CHOICE: dict[str, dict[str, str]] = {
    "auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


def _usage(raw: Any, output_tokens: int | None = None) -> Usage:
    read = int(getattr(raw, "cache_read_input_tokens", 0) or 0)
    write = int(getattr(raw, "cache_creation_input_tokens", 0) or 0)
    return Usage(input_tokens=int(getattr(raw, "input_tokens", 0) or 0) + read + write,
                 output_tokens=(output_tokens if output_tokens is not None
                                else int(getattr(raw, "output_tokens", 0) or 0)),
                 cache_read_tokens=read, cache_write_tokens=write)


@register_provider("anthropic")
class AnthropicProvider(SdkProvider):
    """Claude models through the official `anthropic` SDK; retries are off."""

    pricing_id: ClassVar[str | None] = "anthropic"
    default_api_key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    default_context_window: ClassVar[int] = 200_000
    default_max_output: ClassVar[int | None] = DEFAULT_MAX_TOKENS
    default_tools: ClassVar[bool] = True
    default_json: ClassVar[bool] = True
    install_hint: ClassVar[str] = _INSTALL
    sdk_module: ClassVar[str] = "anthropic"
    sdk_error: ClassVar[str] = "AnthropicError"
    api_label: ClassVar[str] = "the Anthropic API"

    def _open(self, sdk: Any) -> Any:
        return sdk.AsyncAnthropic(api_key=self.api_key or "unused", base_url=self.model.base_url,
                                  timeout=self.model.timeout_s, max_retries=0)

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """One Messages API call."""
        client = self._connect()
        started = time.perf_counter()
        try:
            raw = await client.messages.create(**anthropic_payload(request, model))
        except self._errors() as exc:
            raise self._translate(exc, model) from exc
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in raw.content or ():
            if block.type == "text":
                text.append(block.text)
            elif block.type == "tool_use":
                calls.append(ToolCall(block.id, block.name, json.dumps(block.input)))
        return LLMResponse(text="".join(text), model=model.name, provider=self.name,
                           usage=_usage(raw.usage), tool_calls=tuple(calls),
                           finish_reason=_FINISH.get(raw.stop_reason or "", raw.stop_reason),
                           latency_s=time.perf_counter() - started,
                           response_model=getattr(raw, "model", None))

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """Stream a Messages API call (SSE events)."""
        client = self._connect()
        start_usage: Any = None
        output_tokens: int | None = None
        finish: str | None = None
        blocks: dict[int, dict[str, str]] = {}
        response: Any = None
        try:
            response = await client.messages.create(**anthropic_payload(request, model),
                                                    stream=True)
            async for event in response:
                kind = event.type
                if kind == "message_start":
                    start_usage = event.message.usage
                elif kind == "content_block_start" and event.content_block.type == "tool_use":
                    blocks[event.index] = {"id": event.content_block.id,
                                           "name": event.content_block.name, "arguments": ""}
                elif kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta" and delta.text:
                        yield StreamChunk(text=delta.text)
                    elif delta.type == "input_json_delta" and event.index in blocks:
                        blocks[event.index]["arguments"] += delta.partial_json or ""
                elif kind == "message_delta":
                    finish = event.delta.stop_reason or finish
                    output_tokens = getattr(event.usage, "output_tokens", output_tokens)
        except self._errors() as exc:
            raise self._translate(exc, model) from exc
        finally:
            if response is not None:
                with contextlib.suppress(Exception):
                    await response.close()
        calls = tuple(ToolCall(b["id"], b["name"], b["arguments"] or "{}")
                      for _, b in sorted(blocks.items()))
        yield StreamChunk(tool_calls=calls, finish_reason=_FINISH.get(finish or "", finish),
                          usage=_usage(start_usage, output_tokens))
