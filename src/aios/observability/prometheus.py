"""The stored-span metrics in the Prometheus text exposition format, for `GET /metrics`.

Rendering goes through `prometheus_client`: a collector turns a `MetricsReport` into metric
families, and `generate_latest` writes the format.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from aios.observability.metrics import GroupStats, MetricsReport, compute_metrics
from aios.store.engine import Store

__all__ = ["GaugeSource", "MetricsCollector", "prometheus_text"]

#: A subsystem's live state as metric families (breakers open, approvals waiting ...).
GaugeSource = Callable[[Store], Awaitable[Iterable[Metric]]]

#: (dimension, metric prefix, label names) of each breakdown exposed.
_FAMILIES = (("action", "aios_action", ("action",)), ("agent", "aios_agent", ("agent",)),
             ("model", "aios_llm_model", ("model",)),
             ("provider", "aios_llm_provider", ("provider",)))


def _summary(name: str, doc: str, labels: tuple[str, ...],
             groups: tuple[GroupStats, ...]) -> Metric:
    metric = Metric(name, doc, "summary")
    for group in groups:
        base = dict(zip(labels, (group.key,), strict=True))
        for quantile, value in (("0.5", group.p50_ms), ("0.95", group.p95_ms),
                                ("0.99", group.p99_ms)):
            if value is not None:
                metric.add_sample(name, {**base, "quantile": quantile}, value / 1000)
        metric.add_sample(f"{name}_count", base, group.calls)
        metric.add_sample(f"{name}_sum", base, (group.mean_ms or 0.0) * group.calls / 1000)
    return metric


class MetricsCollector(Collector):
    """Exposes one `MetricsReport` as Prometheus metric families."""

    def __init__(self, report: MetricsReport):
        self._report = report

    def collect(self) -> Iterator[Metric]:
        """The metric families, breakdown by breakdown."""
        for dim, prefix, labels in _FAMILIES:
            groups = self._report.by.get(dim, ())
            calls = CounterMetricFamily(f"{prefix}_calls", f"Spans measured, by {dim}.",
                                        labels=labels)
            errors = CounterMetricFamily(f"{prefix}_errors", f"Spans that failed, by {dim}.",
                                         labels=labels)
            tokens = CounterMetricFamily(f"{prefix}_tokens", f"LLM tokens by class, by {dim}.",
                                         labels=(*labels, "class"))
            cost = CounterMetricFamily(f"{prefix}_cost_usd", f"LLM cost in USD, by {dim}.",
                                       labels=labels)
            for group in groups:
                calls.add_metric([group.key], group.calls)
                errors.add_metric([group.key], group.errors)
                cost.add_metric([group.key], group.cost_usd)
                for token_class, count in group.tokens.items():
                    tokens.add_metric([group.key, token_class], count)
            yield from (calls, errors, tokens, cost)
            yield _summary(f"{prefix}_latency_seconds", f"Latency quantiles, by {dim}.",
                           labels, groups)
        overall = CounterMetricFamily("aios_spans", "Spans measured overall (actions, llm).",
                                      labels=("kind",))
        failed = CounterMetricFamily("aios_span_errors", "Failed spans overall.",
                                     labels=("kind",))
        for group in self._report.overall:
            overall.add_metric([group.key], group.calls)
            failed.add_metric([group.key], group.errors)
        yield overall
        yield failed
        yield _summary("aios_latency_seconds", "Latency quantiles overall (actions, llm).",
                       ("kind",), self._report.overall)


class _Fixed(Collector):
    """Metric families computed beforehand (collectors are sync; the store is async)."""

    def __init__(self, metrics: Sequence[Metric]):
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self._metrics


def render(report: MetricsReport, extra: Sequence[Metric] = ()) -> str:
    """`report` (and `extra` families) in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(report))
    if extra:
        registry.register(_Fixed(extra))
    return generate_latest(registry).decode()


async def prometheus_text(store: Store, since: datetime | None = None,
                          gauges: Sequence[GaugeSource] = ()) -> str:
    """The metrics of the spans in `store` (since `since`) in the Prometheus text format,
    plus the live state each of `gauges` reads from the store."""
    extra = [metric for source in gauges for metric in await source(store)]
    return render(await compute_metrics(store, since=since), extra)
