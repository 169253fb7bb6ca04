"""Metrics from stored spans: counts, tokens, cost, error rate, percentiles, windows, Prometheus."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode
from prometheus_client.parser import text_string_to_metric_families

from aios.errors import ConfigError
from aios.observability import (
    StoreSpanExporter,
    compute_metrics,
    parse_duration,
    parse_since,
    prometheus_text,
    prune_spans,
)
from aios.store import Store

NOW_NS = time.time_ns()
DAY_NS = 86_400 * 10**9


def _write(store: Store, specs: list[dict[str, Any]]) -> None:
    """Spans with exact start times and durations, written through the real exporter."""
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    finished = []
    for spec in specs:
        start = spec.get("start", NOW_NS - 60 * 10**9)
        span = tracer.start_span(spec["name"], attributes=spec["attrs"], start_time=start)
        if spec.get("error"):
            span.set_status(Status(StatusCode.ERROR, "boom"))
        span.end(end_time=start + int(spec["ms"] * 1e6))
        finished.append(span)
    exporter = StoreSpanExporter(store.url)
    exporter.write(finished)  # type: ignore[arg-type]
    exporter.shutdown()


def _action(agent: str, action: str, ms: float, **extra: Any) -> dict[str, Any]:
    return {"name": f"action {action}", "ms": ms, "attrs": {
        "aios.kind": "action", "aios.agent": agent, "aios.action": action}, **extra}


def _llm(model: str, provider: str, ms: float, tokens: tuple[int, int], cost: float,
         action: str | None = None, **extra: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "aios.kind": "llm", "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
        "gen_ai.request.model": f"{model}-id", "aios.model": model,
        "gen_ai.usage.input_tokens": tokens[0], "gen_ai.usage.output_tokens": tokens[1],
        "gen_ai.usage.cache_read.input_tokens": tokens[0] // 2, "aios.cost_usd": cost}
    if action:
        attrs.update({"aios.agent": action.split(".")[0], "aios.action": action})
    return {"name": f"chat {model}", "ms": ms, "attrs": attrs, **extra}


KERNEL_MS = [float(v) for v in range(1, 101)]  # 1..100 ms


@pytest.fixture
def spans_written(store: Store) -> None:
    specs = [_action("kernel", "kernel.ps", ms, error=(ms % 10 == 0)) for ms in KERNEL_MS]
    specs += [_action("orchestration", "orchestration.summarize", 500.0)]
    specs += [_llm("fast", "local", 40.0, (100, 20), 0.0, "orchestration.summarize"),
              _llm("smart", "openai", 900.0, (1000, 200), 0.03, "orchestration.summarize"),
              _llm("smart", "openai", 1100.0, (10, 2), 0.01, error=True)]
    # Ten days old: outside a 7-day window.
    specs += [_action("kernel", "kernel.ps", 5000.0, start=NOW_NS - 10 * DAY_NS)]
    _write(store, specs)


async def test_metrics_overall_and_by_dimension(store: Store, spans_written: None) -> None:
    report = await compute_metrics(store, since=parse_since("7d"))
    actions, llm = report.overall
    assert (actions.key, actions.calls, actions.errors) == ("actions", 101, 10)
    assert actions.error_rate == pytest.approx(10 / 101)
    durations = np.array([*KERNEL_MS, 500.0])
    expected = np.percentile(durations, [50, 95, 99])
    assert [actions.p50_ms, actions.p95_ms, actions.p99_ms] == pytest.approx(list(expected),
                                                                             rel=1e-6)
    assert (llm.calls, llm.errors, llm.llm_calls) == (3, 1, 3)
    assert llm.tokens == {"input": 1110, "output": 222, "cache_read": 555, "cache_write": 0,
                          "reasoning": 0}
    assert llm.cost_usd == pytest.approx(0.04)
    # The actions row carries only the LLM calls made inside actions (an agent's turns and the
    # endpoint's calls belong to none): the third call, outside any action, is on `llm` only.
    assert actions.llm_calls == 2 and actions.cost_usd == pytest.approx(0.03)
    assert actions.tokens["input"] == 1100

    by_agent = {g.key: g for g in report.by["agent"]}
    assert by_agent["kernel"].calls == 100 and by_agent["kernel"].llm_calls == 0
    summarize = by_agent["orchestration"]
    assert (summarize.calls, summarize.llm_calls) == (1, 2)
    assert summarize.tokens["input"] == 1100 and summarize.cost_usd == pytest.approx(0.03)
    by_model = {g.key: g for g in report.by["model"]}
    assert by_model["smart"].calls == 2 and by_model["smart"].errors == 1
    assert by_model["smart"].p50_ms == pytest.approx(1000.0)
    assert {g.key for g in report.by["provider"]} == {"local", "openai"}
    assert {g.key for g in report.by["action"]} == {"kernel.ps", "orchestration.summarize"}


async def test_the_window_includes_older_spans_when_asked(store: Store,
                                                         spans_written: None) -> None:
    everything = await compute_metrics(store)
    assert everything.overall[0].calls == 102
    recent = await compute_metrics(store, since=parse_since("1h"))
    assert recent.overall[0].calls == 101


async def test_prometheus_text_exposes_the_same_families(store: Store,
                                                         spans_written: None) -> None:
    text = await prometheus_text(store)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    calls = {s.labels["action"]: s.value for s in families["aios_action_calls"].samples
             if s.name == "aios_action_calls_total"}
    assert calls == {"kernel.ps": 101, "orchestration.summarize": 1}
    tokens = {(s.labels["model"], s.labels["class"]): s.value
              for s in families["aios_llm_model_tokens"].samples}
    assert tokens[("smart", "input")] == 1010 and tokens[("fast", "output")] == 20
    cost = {s.labels["provider"]: s.value for s in families["aios_llm_provider_cost_usd"].samples}
    assert cost["openai"] == pytest.approx(0.04)
    latency = families["aios_llm_model_latency_seconds"]
    assert latency.type == "summary"
    quantiles = {(s.labels["model"], s.labels.get("quantile")): s.value for s in latency.samples
                 if "quantile" in s.labels}
    assert quantiles[("smart", "0.5")] == pytest.approx(1.0)


async def test_prune_deletes_only_old_spans(store: Store, spans_written: None) -> None:
    assert await prune_spans(store, parse_duration("7d")) == 1
    assert (await compute_metrics(store)).overall[0].calls == 101


def test_time_windows_accept_durations_and_dates() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert parse_since("1h", now=now) == now - timedelta(hours=1)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("2026-11-01", now=now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("2w") == timedelta(weeks=2)


@pytest.mark.parametrize("bad", ["yesterday", "7 days", "-1h", "2026-13-01", ""])
def test_malformed_windows_name_the_accepted_forms(bad: str) -> None:
    with pytest.raises(ConfigError, match="30m, 1h, 7d"):
        parse_since(bad)


def test_malformed_durations_name_the_accepted_forms() -> None:
    with pytest.raises(ConfigError, match="such as 30m, 12h, 30d or 2w"):
        parse_duration("30 days")
    with pytest.raises(ConfigError, match="in the future"):
        parse_since("2999-01-01")
