"""Tracing setup: one `TracerProvider` with the store exporter, OTLP export when an endpoint
is configured, and redaction in front of both.

The provider is an object the caller holds and passes on (to the runtime's layer and
listener, to the gateway's wrapper); the process-wide OpenTelemetry provider is only set
when the caller asks (`set_global=True`), for third-party instrumentation that reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from aios.errors import ConfigError
from aios.llm.provider import Provider
from aios.llm.types import ModelInfo
from aios.observability.exporter import StoreSpanExporter
from aios.observability.hooks import TraceHook
from aios.observability.layer import RunSpans, TracingLayer
from aios.observability.llm import CostFn, llm_tracing
from aios.observability.processor import StoreSpanProcessor
from aios.observability.redaction import RedactingSpanProcessor, Redactor, default_redactor
from aios.settings import Settings

__all__ = ["OtlpReporter", "Tracing", "otlp_exporter", "setup_tracing"]

log = logging.getLogger("aios.observability")

_SDK_EXPORT_LOGGERS = ("opentelemetry.exporter.otlp.proto.http.trace_exporter",
                       "opentelemetry.exporter.otlp.common.http")


class _Quiet(logging.Filter):
    """Silences the SDK's per-batch OTLP failure lines: `OtlpReporter` reports once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.WARNING


class OtlpReporter(SpanExporter):
    """Wraps the OTLP exporter so an unreachable endpoint is reported once, not per batch.

    The first failed export logs one warning; a later success logs that export recovered
    (and a new outage is reported again). The run never waits on it: the exporter runs on
    the batch processor's thread.
    """

    def __init__(self, inner: SpanExporter, endpoint: str):
        self._inner = inner
        self.endpoint = endpoint
        self.failures = 0
        self._down = False
        self._filter = _Quiet()
        for name in _SDK_EXPORT_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)

    def export(self, spans: Any) -> SpanExportResult:
        """Export, reporting an outage once."""
        result = self._inner.export(spans)
        if result is SpanExportResult.FAILURE:
            self.failures += 1
            if not self._down:
                self._down = True
                log.warning("OTLP export to %s failed; spans are still written to the store. "
                            "Check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector runs "
                            "(reported once until it answers again)", self.endpoint)
        elif self._down:
            self._down = False
            log.warning("OTLP export to %s works again", self.endpoint)
        return result

    def shutdown(self) -> None:
        """Shut the OTLP exporter down and stop silencing its logger."""
        self._inner.shutdown()
        for name in _SDK_EXPORT_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the OTLP exporter."""
        return self._inner.force_flush(timeout_millis)


def otlp_exporter(endpoint: str, *, timeout_s: float | None = None) -> SpanExporter:
    """An OTLP/HTTP (protobuf) span exporter for the collector at base URL `endpoint`.

    Raises:
        ConfigError: the `otlp` extra is not installed.
    """
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ConfigError("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter is not "
                          "installed: pip install 'aios[otlp]'") from exc
    url = endpoint if endpoint.rstrip("/").endswith("/v1/traces") else \
        endpoint.rstrip("/") + "/v1/traces"
    return OtlpReporter(OTLPSpanExporter(endpoint=url, timeout=timeout_s), url)


@dataclass
class Tracing:
    """Everything tracing hands to the rest of Ai:oS.

    Attributes:
        provider: the TracerProvider all Ai:oS spans come from.
        store: the store processor (None when spans go only to OTLP or nowhere).
        capture_content: whether LLM spans record prompt and completion text.
        hook: the `EventHook` for retries, breakers, fallbacks, guardrails, approvals.
    """

    provider: TracerProvider
    store: StoreSpanProcessor | None = None
    capture_content: bool = False
    hook: TraceHook = field(init=False)

    def __post_init__(self) -> None:
        self.hook = TraceHook(self.tracer)

    @property
    def tracer(self) -> trace.Tracer:
        """The Ai:oS tracer."""
        return self.provider.get_tracer("aios")

    def layer(self) -> TracingLayer:
        """The pipeline layer; put it first (outermost) in `Runtime(layers=...)`."""
        return TracingLayer(self.tracer, check=self.check)

    def listener(self) -> RunSpans:
        """The run listener opening run spans; add it to `Runtime(listeners=...)`."""
        return RunSpans(self.tracer)

    def llm_wrapper(self, cost: CostFn | None = None
                    ) -> Callable[[Provider, ModelInfo], Provider]:
        """The gateway wrapper recording LLM spans (`Gateway(wrappers=[...])`)."""
        return llm_tracing(self.tracer, capture_content=self.capture_content, cost=cost)

    def check(self) -> None:
        """Raise `StoreError` when the span store has failed (a run should stop)."""
        if self.store is not None:
            self.store.check()

    async def flush(self) -> None:
        """Write every finished span to the store without blocking the event loop.

        Raises:
            StoreError: the store refused a write.
        """
        if self.store is not None:
            await self.store.flush()

    def shutdown(self) -> None:
        """Flush and close every exporter (idempotent; call it at process exit)."""
        self.provider.shutdown()


def setup_tracing(settings: Settings, *, store_url: str | None = None,
                  provider: TracerProvider | None = None,
                  redactor: Redactor | None = None, otlp_endpoint: str | None = None,
                  extra_processors: tuple[SpanProcessor, ...] = (),
                  set_global: bool = False) -> Tracing:
    """Build tracing for one process.

    Args:
        settings: `trace_content` (record prompts), `otlp_endpoint`
            (OTEL_EXPORTER_OTLP_ENDPOINT), and the store.
        store_url: the store spans go to (default: `settings.store_url()`); the store must
            have been opened once (`Store.open` migrates it). Pass "" for no store.
        provider: add the processors to this provider instead of a new one.
        redactor: `str -> str` applied to all span text before export (default: e-mail
            addresses and long digit runs masked).
        otlp_endpoint: overrides `settings.otlp_endpoint`.
        extra_processors: more exporting processors, behind the redaction.
        set_global: also make this the process-wide OpenTelemetry provider.

    Raises:
        ConfigError: a URL or endpoint is unusable, or the `otlp` extra is missing.
    """
    if provider is None:
        provider = TracerProvider(resource=Resource.create({"service.name": "aios"}),
                                  shutdown_on_exit=True)
    url = settings.store_url() if store_url is None else store_url
    store = StoreSpanProcessor(StoreSpanExporter(url)) if url else None
    exporting: list[SpanProcessor] = [store] if store is not None else []
    endpoint = otlp_endpoint if otlp_endpoint is not None else settings.otlp_endpoint
    if endpoint:
        exporting.append(BatchSpanProcessor(otlp_exporter(endpoint), max_queue_size=65536))
    exporting.extend(extra_processors)
    provider.add_span_processor(RedactingSpanProcessor(exporting, redactor or default_redactor))
    if set_global:
        trace.set_tracer_provider(provider)
    return Tracing(provider, store, capture_content=settings.trace_content)
