"""LLM spans from the Provider wrapper: GenAI attributes, cost, streams, errors, content."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from aios.errors import TransientProviderError
from aios.llm.costing import CostProvider
from aios.llm.gateway import Gateway
from aios.llm.pricing import PriceTable, cost_usd
from aios.llm.provider import Provider
from aios.llm.types import LLMRequest, ModelInfo, Usage
from aios.observability import RedactingSpanProcessor, llm_tracing
from aios.testing import ScriptedProvider, Turn

MODEL = ModelInfo(name="fast", provider="openai", model_id="gpt-4o-mini", tier="simple",
                  input_price=1.0, output_price=2.0)
PRICES = PriceTable({"openai": None})
USAGE = Usage(input_tokens=42, output_tokens=7, cache_read_tokens=30, cache_write_tokens=2,
              reasoning_tokens=1)


def scripted(fail: Exception | None = None) -> ScriptedProvider:
    """Answers "all systems nominal" (streamed: "all ", "good"); fails when told to (a
    stream after its two pieces)."""
    return ScriptedProvider(default=Turn(
        "all systems nominal", usage=USAGE, pieces=("all ", "good"),
        response_model="gpt-4o-mini-2024-07-18", error=fail,
        fail_after=2 if fail is not None else None), name="openai")


@pytest.fixture
def memory() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def _wrap(memory: InMemorySpanExporter, inner: Provider, **kwargs: Any) -> Provider:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(RedactingSpanProcessor([SimpleSpanProcessor(memory)]))
    return llm_tracing(provider.get_tracer("t"), **kwargs)(inner, MODEL)


REQUEST = LLMRequest.of("is the host healthy? mail ops@example.com", system="be brief",
                        max_tokens=64, temperature=0.2, top_p=0.9, seed=7, stop=("END",),
                        run_id="run1", agent="orchestration", action="orchestration.summarize")


async def test_a_completion_span_follows_the_genai_conventions(
        memory: InMemorySpanExporter) -> None:
    provider = _wrap(memory, CostProvider(scripted(), PRICES))
    assert provider.name == "openai"
    response = await provider.complete(REQUEST, MODEL)
    assert response.text == "all systems nominal"
    (span,) = memory.get_finished_spans()
    attrs = span.attributes
    assert span.name == "chat gpt-4o-mini" and span.kind is SpanKind.CLIENT
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.input_tokens"] == 42
    assert attrs["gen_ai.usage.output_tokens"] == 7
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 30
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 2
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 1
    assert attrs["aios.usage.counted"] is False
    assert response.cost_usd == cost_usd(USAGE, PRICES.prices(MODEL)) > 0
    assert attrs["aios.cost_usd"] == response.cost_usd
    assert attrs["aios.model"] == "fast"
    assert (attrs["aios.run_id"], attrs["aios.agent"], attrs["aios.action"]) == (
        "run1", "orchestration", "orchestration.summarize")
    # Content is off by default.
    assert not any(key.endswith(("messages", "instructions")) for key in attrs)


async def test_the_cost_function_prices_only_a_response_that_carries_no_cost(
        memory: InMemorySpanExporter) -> None:
    seen: list[tuple[str, int]] = []

    def ledger(model: ModelInfo, usage: Usage) -> float:
        seen.append((model.name, usage.input_tokens))
        return 0.5

    await _wrap(memory, scripted(), cost=ledger).complete(REQUEST, MODEL)
    costed = await _wrap(memory, CostProvider(scripted(), PRICES), cost=ledger).complete(
        REQUEST, MODEL)
    bare, priced = memory.get_finished_spans()
    assert bare.attributes["aios.cost_usd"] == 0.5 and seen == [("fast", 42)]
    assert priced.attributes["aios.cost_usd"] == costed.cost_usd != 0.5


async def test_a_stream_records_usage_from_its_last_chunk(memory: InMemorySpanExporter) -> None:
    provider = _wrap(memory, scripted(), cost=lambda model, usage: 0.001)
    text = "".join([chunk.text async for chunk in provider.stream(REQUEST, MODEL)])
    assert text == "all good"
    (span,) = memory.get_finished_spans()
    attrs = span.attributes
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.input_tokens"] == 42 and attrs["gen_ai.usage.output_tokens"] == 7
    assert attrs["aios.usage.counted"] is False
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["aios.cost_usd"] == 0.001
    assert attrs["aios.stream.chunks"] == 3 and attrs["aios.stream.completed"] is True
    assert "gen_ai.response.time_to_first_chunk" in attrs


async def test_a_stream_abandoned_early_still_ends_its_span(
        memory: InMemorySpanExporter) -> None:
    stream = _wrap(memory, scripted()).stream(REQUEST, MODEL)
    async for _chunk in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    (span,) = memory.get_finished_spans()
    assert span.attributes["aios.stream.completed"] is False
    assert span.status.status_code is StatusCode.UNSET


async def test_a_provider_error_is_recorded_with_its_stack_trace(
        memory: InMemorySpanExporter) -> None:
    error = TransientProviderError("rate limited", provider="openai", status=429)
    with pytest.raises(TransientProviderError):
        await _wrap(memory, scripted(fail=error)).complete(REQUEST, MODEL)
    with pytest.raises(TransientProviderError):
        async for _ in _wrap(memory, scripted(fail=error)).stream(REQUEST, MODEL):
            pass
    for span in memory.get_finished_spans():
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == "TransientProviderError"
        (event,) = span.events
        assert event.name == "exception"
        assert "rate limited" in event.attributes["exception.message"]
        assert "Traceback" in event.attributes["exception.stacktrace"]


async def test_content_when_enabled_is_recorded_and_redacted(
        memory: InMemorySpanExporter) -> None:
    await _wrap(memory, scripted(), capture_content=True).complete(REQUEST, MODEL)
    (span,) = memory.get_finished_spans()
    messages = json.loads(span.attributes["gen_ai.input.messages"])
    assert messages == [{"role": "user", "parts": [
        {"type": "text", "content": "is the host healthy? mail [email]"}]}]
    assert json.loads(span.attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "be brief"}]
    output = json.loads(span.attributes["gen_ai.output.messages"])
    assert output[0]["parts"][0]["content"] == "all systems nominal"
    assert output[0]["finish_reason"] == "stop"


async def test_calls_inside_an_action_inherit_its_run_and_action(
        memory: InMemorySpanExporter) -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    wrapped = llm_tracing(tracer)(scripted(), MODEL)
    with tracer.start_as_current_span("action kernel.ps", attributes={
            "aios.run_id": "r9", "aios.agent": "kernel", "aios.action": "kernel.ps"}) as action:
        await wrapped.complete(LLMRequest.of("hi"), MODEL)
    llm = memory.get_finished_spans()[0]
    assert llm.parent is not None and llm.parent.span_id == action.get_span_context().span_id
    assert (llm.attributes["aios.run_id"], llm.attributes["aios.action"]) == ("r9", "kernel.ps")


async def test_the_gateway_wrapper_records_the_ledger_cost(memory: InMemorySpanExporter) -> None:
    priced = ModelInfo(name="fast", provider="openai", model_id="gpt-4o-mini",
                       input_price=1.0, output_price=2.0)
    prices = PriceTable({"openai": None})
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    wrapper = llm_tracing(provider.get_tracer("t"),
                          cost=lambda model, usage: cost_usd(usage, prices.prices(model)))
    gateway = Gateway({"fast": priced}, providers={"fast": scripted()},
                      wrappers=[wrapper], prices=prices)
    response = await gateway.complete("status?", model="fast")
    await gateway.aclose()
    (span,) = memory.get_finished_spans()
    assert response.cost_usd > 0
    assert span.attributes["aios.cost_usd"] == pytest.approx(response.cost_usd)
    assert span.attributes["gen_ai.usage.input_tokens"] == response.usage.input_tokens


async def test_a_failed_or_cancelled_call_keeps_the_request_attributes(
        memory: InMemorySpanExporter) -> None:
    # The request's attributes are set when the call ends (one `set_attributes`): a call that
    # fails or is cancelled must carry them all the same.
    error = TransientProviderError("rate limited", provider="openai", status=429)
    with pytest.raises(TransientProviderError):
        await _wrap(memory, scripted(fail=error)).complete(REQUEST, MODEL)

    class Cancelled:
        name = "openai"

        async def complete(self, request: LLMRequest, model: ModelInfo) -> Any:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await _wrap(memory, Cancelled()).complete(REQUEST, MODEL)  # type: ignore[arg-type]
    failed, cancelled = memory.get_finished_spans()
    for span in (failed, cancelled):
        assert span.attributes is not None
        assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"
        assert span.attributes["aios.model"] == "fast"
        assert span.attributes["gen_ai.request.max_tokens"] == 64
        assert span.attributes["aios.run_id"] == "run1"
        assert "gen_ai.usage.input_tokens" not in span.attributes
    assert failed.attributes is not None and cancelled.attributes is not None
    assert failed.attributes["error.type"] == "TransientProviderError"
    assert cancelled.attributes["aios.cancelled"] is True
