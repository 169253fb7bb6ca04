"""The exact attributes exported spans carry, pinned: an LLM call (completion and stream,
with and without content capture, inside an action span it inherits from) and an action
step. The span code is on the agent loop's hot path; making it cheaper must not change what
an exporter receives (values that vary per call, timings, are checked by name only)."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.observability.obs_helpers import Traced
from tests.observability.test_runtime_spans import _manifest, _runtime

from aios.llm.costing import CostProvider
from aios.llm.pricing import PriceTable
from aios.llm.types import LLMRequest, Message, ModelInfo, ToolCall, Usage
from aios.observability import RedactingSpanProcessor, llm_tracing
from aios.store import RunStore
from aios.testing import ScriptedProvider, Turn

MODEL = ModelInfo(name="fast", provider="openai", model_id="gpt-4o-mini", tier="simple",
                  input_price=1.0, output_price=2.0)
TIMINGS = {"aios.latency_s", "gen_ai.response.time_to_first_chunk"}
TOOLS = ({"type": "function", "function": {"name": "ops__restart", "parameters": {}}},)
REQUEST = LLMRequest(
    messages=(Message("system", "be brief"), Message("user", "restart it, mail ops@example.com"),
              Message("assistant", "", tool_calls=(ToolCall("c1", "ops__restart", "{}"),)),
              Message("tool", "restarted 4111 1111 1111 1111", tool_call_id="c1")),
    max_tokens=64, temperature=0.2, stop=("END",), tools=TOOLS, tier="simple",
    tenant="acme", user="ada")

BASE = {
    "aios.kind": "llm", "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini", "gen_ai.output.type": "text",
    "aios.model": "fast", "aios.model.tier": "simple", "gen_ai.request.max_tokens": 64,
    "gen_ai.request.temperature": 0.2, "gen_ai.request.stop_sequences": ("END",),
    "aios.request.tier": "simple", "aios.tenant": "acme", "aios.user": "ada",
    # inherited from the enclosing action span
    "aios.run_id": "run9", "aios.agent": "ops", "aios.action": "ops.fix", "aios.step_id": "s1",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.usage.input_tokens": 42, "gen_ai.usage.output_tokens": 7,
    "gen_ai.usage.cache_read.input_tokens": 0, "gen_ai.usage.cache_creation.input_tokens": 0,
    "gen_ai.usage.reasoning.output_tokens": 0, "aios.usage.counted": False,
    "gen_ai.response.finish_reasons": ("stop",),
}
CONTENT = {
    "gen_ai.input.messages": (
        '[{"role": "user", "parts": [{"type": "text", "content": "restart it, mail [email]"}]}, '
        '{"role": "assistant", "parts": [{"type": "text", "content": ""}]}, '
        '{"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", '
        '"response": "restarted [number]"}]}]'),
    "gen_ai.system_instructions": '[{"type": "text", "content": "be brief"}]',
    "gen_ai.tool.definitions": ('[{"type": "function", "function": {"name": "ops__restart", '
                                '"parameters": {}}}]'),
    "gen_ai.output.messages": ('[{"role": "assistant", "parts": [{"type": "text", "content": '
                               '"all good"}], "finish_reason": "stop"}]'),
}


def _stable(span: ReadableSpan) -> dict[str, Any]:
    attrs = dict(span.attributes or {})
    assert "aios.latency_s" in attrs
    return {k: v for k, v in attrs.items() if k not in TIMINGS}


async def _llm_spans(capture: bool) -> tuple[ReadableSpan, ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(RedactingSpanProcessor([SimpleSpanProcessor(memory)]))
    tracer = provider.get_tracer("t")
    inner = CostProvider(ScriptedProvider(default=Turn(
        "all good", usage=Usage(input_tokens=42, output_tokens=7), pieces=("all ", "good"),
        response_model="gpt-4o-mini-2024-07-18"), name="openai"), PriceTable({"openai": None}))
    traced = llm_tracing(tracer, capture_content=capture)(inner, MODEL)
    with tracer.start_as_current_span("action ops.fix", attributes={
            "aios.run_id": "run9", "aios.agent": "ops", "aios.action": "ops.fix",
            "aios.step_id": "s1"}):
        await traced.complete(REQUEST, MODEL)
        _ = [chunk async for chunk in traced.stream(REQUEST, MODEL)]
    completion, stream, _action = memory.get_finished_spans()
    return completion, stream


async def test_an_llm_span_exports_exactly_these_attributes() -> None:
    for capture in (False, True):
        completion, stream = await _llm_spans(capture)
        expected = {**BASE, "aios.cost_usd": 0.000056, "aios.cached": False,
                    **(CONTENT if capture else {})}
        assert _stable(completion) == expected
        assert _stable(stream) == {
            **{k: v for k, v in expected.items() if k != "aios.cached"},
            "gen_ai.response.model": "gpt-4o-mini", "gen_ai.request.stream": True,
            "aios.stream.chunks": 3, "aios.stream.completed": True}
        assert "gen_ai.response.time_to_first_chunk" in (stream.attributes or {})


async def test_an_action_span_exports_exactly_these_attributes(
        traced: Traced, runs: RunStore) -> None:
    result = await _runtime(traced, runs, _manifest({})).execute("obs.ok")
    (span,) = traced.named("action obs.ok")
    assert dict(span.attributes or {}) == {
        "aios.kind": "action", "aios.run_id": result.run_id, "aios.action": "obs.ok",
        "aios.agent": "obs", "aios.step_id": "obs.ok", "aios.criticality": "low",
        "aios.mutates": False, "aios.forensic": False, "aios.attempt": 1,
        "aios.critical_step": True, "aios.status": "succeeded"}
    (run,) = traced.named("run obs.ok")
    assert dict(run.attributes or {}) == {
        "aios.kind": "run", "aios.run_id": result.run_id, "aios.run.target": "obs.ok",
        "aios.run.kind": "action", "aios.run.steps": 1, "aios.run.resumed": False,
        "aios.status": "succeeded", "aios.run.steps_succeeded": 1}
