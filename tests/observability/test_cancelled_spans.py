"""A model call cancelled by its caller (an optional step's deadline) is not an error span."""

from __future__ import annotations

import asyncio

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from aios.llm.types import LLMRequest, ModelInfo
from aios.observability import llm_tracing
from aios.testing import ScriptedProvider, Turn

MODEL = ModelInfo(name="local", provider="local", model_id="smollm2", tier="simple")


async def test_a_call_cut_off_by_its_callers_deadline_is_cancelled_not_failed() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    slow = ScriptedProvider(Turn("late", wait=asyncio.Event()), name="local")  # never set
    wrapped = llm_tracing(provider.get_tracer("t"))(slow, MODEL)
    try:
        async with asyncio.timeout(0.05):
            await wrapped.complete(LLMRequest.of("narrate"), MODEL)
    except TimeoutError:
        pass
    (span,) = memory.get_finished_spans()
    assert span.status.status_code is not StatusCode.ERROR
    assert span.attributes["aios.cancelled"] is True
    assert "error.type" not in span.attributes
