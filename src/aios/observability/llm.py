"""LLM spans: a `Provider` wrapper recording each call with the OpenTelemetry GenAI semantic
conventions (`gen_ai.*`) plus Ai:oS's own attributes (`aios.cost_usd`, `aios.usage.counted`).

The gateway applies wrappers as `wrapper(provider, model) -> Provider`; `llm_tracing(...)`
returns one, applied right outside the gateway's cost wrapper, so each attempt's span has its
own answer's cost. Cost is never computed here: it comes from the response (`cost_usd`, set
innermost by `aios.llm.costing.CostProvider`) or a stream's final chunk; a `cost` function
handed in is only asked when a provider stack without the cost wrapper answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.trace import SpanKind, Tracer

from aios.llm.provider import Provider
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk, ToolCall, Usage
from aios.llm.wrapper import WrapperProvider
from aios.observability.hooks import record_error

__all__ = ["CostFn", "TracingProvider", "llm_tracing"]

#: The gateway's cost ledger: USD for `usage` on `model`.
CostFn = Callable[[ModelInfo, Usage], float]

_INHERITED = ("aios.run_id", "aios.agent", "aios.action", "aios.step_id")


def _messages_json(request: LLMRequest) -> tuple[str | None, str]:
    """(system instructions, input messages) in the GenAI conventions' JSON shape."""
    system = [{"type": "text", "content": m.content} for m in request.messages
              if m.role == "system"]
    messages = []
    for m in request.messages:
        if m.role == "system":
            continue
        part: dict[str, Any] = ({"type": "tool_call_response", "id": m.tool_call_id,
                                 "response": m.content} if m.role == "tool"
                                else {"type": "text", "content": m.content})
        messages.append({"role": m.role, "parts": [part]})
    return (json.dumps(system) if system else None), json.dumps(messages)


def _output_json(text: str, tool_calls: tuple[ToolCall, ...], finish: str | None) -> str:
    parts: list[dict[str, Any]] = [{"type": "text", "content": text}] if text else []
    parts += [{"type": "tool_call", "id": c.id, "name": c.name, "arguments": c.arguments}
              for c in tool_calls]
    return json.dumps([{"role": "assistant", "parts": parts, "finish_reason": finish or ""}])


def model_attributes(model: ModelInfo) -> dict[str, Any]:
    """The attributes every call to `model` carries (built once per wrapped model)."""
    return {
        "aios.kind": "llm",
        gen_ai.GEN_AI_OPERATION_NAME: "chat",
        gen_ai.GEN_AI_PROVIDER_NAME: model.provider,
        gen_ai.GEN_AI_REQUEST_MODEL: model.model_id,
    }


def request_attributes(request: LLMRequest, model: ModelInfo, *, capture_content: bool,
                       static: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Span attributes describing the request (GenAI conventions + `aios.*`).

    `static`: `model_attributes(model)`, when the caller keeps it.
    """
    attrs: dict[str, Any] = dict(static if static is not None else model_attributes(model))
    attrs[gen_ai.GEN_AI_OUTPUT_TYPE] = "text" if request.response_format is None else "json"
    attrs["aios.model"] = model.name
    attrs["aios.model.tier"] = model.tier
    # Set only when given (a None attribute is dropped by the SDK anyway, after a warning).
    for key, value in (
            (gen_ai.GEN_AI_REQUEST_MAX_TOKENS, request.max_tokens),
            (gen_ai.GEN_AI_REQUEST_TEMPERATURE, request.temperature),
            (gen_ai.GEN_AI_REQUEST_TOP_P, request.top_p),
            (gen_ai.GEN_AI_REQUEST_SEED, request.seed),
            (gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES, request.stop or None),
            ("aios.request.tier", request.tier),
            ("aios.tenant", request.tenant),
            ("aios.user", request.user),
            ("aios.run_id", request.run_id),
            ("aios.agent", request.agent),
            ("aios.action", request.action)):
        if value is not None:
            attrs[key] = value
    # Calls made by a handler inherit where they come from from the enclosing action span.
    parent_attrs: Mapping[str, Any] = getattr(trace.get_current_span(), "attributes",
                                              None) or {}
    for key in _INHERITED:
        if key not in attrs and key in parent_attrs:
            attrs[key] = parent_attrs[key]
    if capture_content:
        system, messages = _messages_json(request)
        attrs[gen_ai.GEN_AI_INPUT_MESSAGES] = messages
        if system is not None:
            attrs[gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS] = system
        if request.tools:
            attrs[gen_ai.GEN_AI_TOOL_DEFINITIONS] = json.dumps(list(request.tools), default=str)
    return attrs


def usage_attributes(usage: Usage) -> dict[str, Any]:
    """Token counts by class."""
    return {
        gen_ai.GEN_AI_USAGE_INPUT_TOKENS: usage.input_tokens,
        gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS: usage.output_tokens,
        gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: usage.cache_read_tokens,
        gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: usage.cache_write_tokens,
        gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: usage.reasoning_tokens,
        "aios.usage.counted": usage.counted,
    }


class TracingProvider(WrapperProvider):
    """A `Provider` that records each call of `inner` as a CLIENT span named
    `chat {model_id}`, child of the current span.

    Args:
        inner: the provider (or wrapped provider) to call.
        tracer: where spans come from.
        capture_content: record prompts and completions (`Settings.trace_content`); they
            still pass the redaction processor before export.
        cost: prices a response that carries no cost (a stack without the cost wrapper).
    """

    def __init__(self, inner: Provider, tracer: Tracer, *, capture_content: bool = False,
                 cost: CostFn | None = None):
        super().__init__(inner)
        self._tracer = tracer
        self._capture = capture_content
        self._cost = cost
        self._static: tuple[ModelInfo, dict[str, Any]] | None = None

    def _attributes(self, request: LLMRequest, model: ModelInfo) -> dict[str, Any]:
        static = self._static
        if static is None or static[0] is not model:  # the gateway wraps per model: once
            static = self._static = (model, model_attributes(model))
        return request_attributes(request, model, capture_content=self._capture,
                                  static=static[1])

    def _cost_of(self, model: ModelInfo, usage: Usage, reported: float, cached: bool) -> float:
        if reported or cached or self._cost is None:
            return reported
        return self._cost(model, usage)

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """Call `inner.complete` inside an LLM span."""
        attrs = self._attributes(request, model)
        # `start_span` + attach rather than `start_as_current_span`: the same span, made
        # current the same way, without two generator context managers per call. The
        # request's attributes are set with the answer's, in one `set_attributes` when the
        # call ends: the SDK checks every value of each mapping it is given, and one given to
        # `start_span` twice (the sampler's result, then the span's). The exported span is the
        # same, its attributes in the same order; the sampler is asked without them (the
        # default, parent-based, does not read them).
        span = self._tracer.start_span(f"chat {model.model_id}", kind=SpanKind.CLIENT,
                                       record_exception=False, set_status_on_exception=False)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            try:
                response = await self.inner.complete(request, model)
            except BaseException as exc:  # cancellation (timeouts) too
                span.set_attributes(attrs)
                record_error(span, exc)
                raise
            if not span.is_recording():  # sampled out: nothing would be kept
                return response
            result: dict[str, Any] = attrs
            result.update({
                gen_ai.GEN_AI_RESPONSE_MODEL: response.response_model or model.model_id,
                "aios.cost_usd": self._cost_of(model, response.usage, response.cost_usd,
                                               response.cached),
                "aios.cached": response.cached,
                "aios.latency_s": response.latency_s,
                **usage_attributes(response.usage),
            })
            if response.finish_reason:
                result[gen_ai.GEN_AI_RESPONSE_FINISH_REASONS] = (response.finish_reason,)
            if response.ttft_s is not None:
                result[gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = response.ttft_s
            if response.route_reason:
                result["aios.route_reason"] = response.route_reason
            if self._capture:
                result[gen_ai.GEN_AI_OUTPUT_MESSAGES] = _output_json(
                    response.text, response.tool_calls, response.finish_reason)
            span.set_attributes(result)
            return response
        finally:
            otel_context.detach(token)
            span.end()

    def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """Stream from `inner` inside an LLM span that ends with the stream."""
        return self._stream(request, model)

    async def _stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        attrs = self._attributes(request, model)
        attrs[gen_ai.GEN_AI_REQUEST_STREAM] = True
        span = self._tracer.start_span(f"chat {model.model_id}", kind=SpanKind.CLIENT,
                                       attributes=attrs)
        span_context = trace.set_span_in_context(span)
        inner = self.inner.stream(request, model)
        started = time.perf_counter()
        texts: list[str] = []
        tool_calls: list[ToolCall] = []
        finish: str | None = None
        usage: Usage | None = None
        reported = 0.0
        chunks = 0
        completed = False
        try:
            while True:
                # The span is current only while the provider works, never across a yield:
                # the consumer's code between chunks is not part of the call.
                token = otel_context.attach(span_context)
                try:
                    chunk = await anext(inner)
                except StopAsyncIteration:
                    completed = True
                    break
                finally:
                    otel_context.detach(token)
                if chunks == 0:
                    span.set_attribute(gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                                       time.perf_counter() - started)
                chunks += 1
                if self._capture:
                    texts.append(chunk.text)
                    tool_calls.extend(chunk.tool_calls)
                finish = chunk.finish_reason or finish
                usage = chunk.usage or usage  # the last chunk carries it
                if chunk.response is not None:
                    reported = chunk.response.cost_usd
                yield chunk
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):  # GeneratorExit: the consumer stopped
                record_error(span, exc)
            raise
        finally:
            aclose = getattr(inner, "aclose", None)
            if not completed and aclose is not None:
                await aclose()
            result: dict[str, Any] = {
                gen_ai.GEN_AI_RESPONSE_MODEL: model.model_id,
                "aios.stream.chunks": chunks,
                "aios.stream.completed": completed,
                "aios.latency_s": time.perf_counter() - started,
            }
            if usage is not None:
                result.update(usage_attributes(usage))
                result["aios.cost_usd"] = self._cost_of(model, usage, reported, False)
            if finish:
                result[gen_ai.GEN_AI_RESPONSE_FINISH_REASONS] = (finish,)
            if self._capture:
                result[gen_ai.GEN_AI_OUTPUT_MESSAGES] = _output_json(
                    "".join(texts), tuple(tool_calls), finish)
            span.set_attributes(result)
            span.end()


def llm_tracing(tracer: Tracer, *, capture_content: bool = False,
                cost: CostFn | None = None) -> Callable[[Provider, ModelInfo], Provider]:
    """A gateway wrapper: `Gateway(wrappers=[llm_tracing(tracer, cost=ledger.cost)])`.

    Args:
        tracer: where spans come from (`Tracing.tracer`).
        capture_content: record prompt and completion text (off by default).
        cost: the gateway's cost ledger, for responses that carry no cost.
    """

    def wrap(provider: Provider, model: ModelInfo) -> Provider:
        return TracingProvider(provider, tracer, capture_content=capture_content, cost=cost)

    return wrap
