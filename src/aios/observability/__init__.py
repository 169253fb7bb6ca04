"""Observability: OpenTelemetry tracing of runs, actions and LLM calls, a store exporter,
metrics from the stored spans, and their Prometheus exposition."""

from aios.observability.exporter import StoreSpanExporter, span_to_row
from aios.observability.hooks import EVENTS, NULL_HOOK, SPANS, EventHook, NullHook, TraceHook
from aios.observability.layer import RunSpans, TracingLayer
from aios.observability.llm import CostFn, TracingProvider, llm_tracing
from aios.observability.metrics import GroupStats, MetricsReport, compute_metrics
from aios.observability.processor import StoreSpanProcessor
from aios.observability.prometheus import MetricsCollector, prometheus_text
from aios.observability.redaction import RedactingSpanProcessor, Redactor, default_redactor
from aios.observability.setup import Tracing, otlp_exporter, setup_tracing
from aios.observability.table import spans
from aios.observability.traces import (
    SpanNode,
    TraceSummary,
    TraceTree,
    get_trace,
    list_traces,
    prune_spans,
)
from aios.observability.window import parse_duration, parse_since

__all__ = [
    "EVENTS",
    "NULL_HOOK",
    "SPANS",
    "CostFn",
    "EventHook",
    "GroupStats",
    "MetricsCollector",
    "MetricsReport",
    "NullHook",
    "RedactingSpanProcessor",
    "Redactor",
    "RunSpans",
    "SpanNode",
    "StoreSpanExporter",
    "StoreSpanProcessor",
    "TraceHook",
    "TraceSummary",
    "TraceTree",
    "Tracing",
    "TracingLayer",
    "TracingProvider",
    "compute_metrics",
    "default_redactor",
    "get_trace",
    "list_traces",
    "llm_tracing",
    "otlp_exporter",
    "parse_duration",
    "parse_since",
    "prometheus_text",
    "prune_spans",
    "setup_tracing",
    "span_to_row",
    "spans",
]
