"""Fixtures: tracing on a real store, with an in-memory copy of every exported span."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.observability.obs_helpers import Traced

from aios.observability import setup_tracing
from aios.settings import Settings
from aios.store import Store


@pytest.fixture
def memory() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
async def traced(store: Store, settings: Settings,
                 memory: InMemorySpanExporter) -> AsyncIterator[Traced]:
    """Tracing into the parametrised store (SQLite, and PostgreSQL when available)."""
    tracing = setup_tracing(settings, store_url=store.url,
                            extra_processors=(SimpleSpanProcessor(memory),))
    yield Traced(tracing, store, memory)
    tracing.shutdown()
