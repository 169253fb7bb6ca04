"""Helpers shared by the observability tests."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aios.observability import Tracing
from aios.store import Store


@dataclass
class Traced:
    """Tracing writing to `store`, plus the spans exactly as exporters receive them."""

    tracing: Tracing
    store: Store
    memory: InMemorySpanExporter

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.memory.get_finished_spans()

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name.startswith(prefix)]
