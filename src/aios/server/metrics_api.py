"""Metrics: Prometheus `/metrics`, and JSON figures for the dashboard and scripts.

`/metrics` needs a viewer token like every read (Prometheus sends it with
`authorization: {credentials: TOKEN}` in its scrape config).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from aios.approvals.gauges import approval_gauges
from aios.observability.metrics import GroupStats, compute_metrics
from aios.observability.prometheus import prometheus_text
from aios.reliability.gauges import breaker_gauges
from aios.server.auth import ServicesDep, Viewer
from aios.server.overview import overview
from aios.server.params import since_param
from aios.server.timeseries import time_series

__all__ = ["GroupStatsOut", "MetricsOut", "OverviewOut", "TimeSeriesOut", "router"]

router = APIRouter(tags=["metrics"])

_SINCE = Query(None, max_length=40, description="30m, 24h, 7d, or a date/time; default: all.")


class GroupStatsOut(BaseModel):
    """Figures of one group of spans (an agent, action, model, provider, or overall)."""

    key: str
    calls: int
    errors: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    llm_calls: int
    tokens: dict[str, int] = Field(description="By class: input, output, cache_read, ...")
    cost_usd: float


class MetricsOut(BaseModel):
    """Metrics over a window: overall (`actions`, `llm`), then by dimension."""

    since: datetime | None
    until: datetime
    overall: list[GroupStatsOut]
    by: dict[str, list[GroupStatsOut]] = Field(description="agent, action, model, provider.")


class OverviewOut(BaseModel):
    """The dashboard's headline figures."""

    runs_total: int
    runs_24h: dict[str, int] = Field(description="Runs started in the last 24 h, by status.")
    active: int = Field(description="Runs executing in this server now.")
    error_rate_24h: float
    p95_ms_24h: float | None
    actions_24h: int
    cost_today_usd: float = Field(description="LLM cost since midnight UTC.")
    llm_calls_today: int
    pending_approvals: int


class SeriesOut(BaseModel):
    """One group's values per bucket."""

    key: str
    calls: list[int]
    cost_usd: list[float]
    p95_ms: list[float | None]


class TimeSeriesOut(BaseModel):
    """Cost and P95 latency per time bucket, by agent and by model."""

    since: datetime
    until: datetime
    bucket_seconds: float
    starts: list[datetime]
    by: dict[str, list[SeriesOut]]


def _group(g: GroupStats) -> GroupStatsOut:
    return GroupStatsOut(**g.to_json())


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "The Prometheus text exposition format."}})
async def prometheus(services: ServicesDep, _user: Viewer) -> PlainTextResponse:
    """Calls, errors, latency summaries, tokens and cost by action, agent, model, provider."""
    return PlainTextResponse(await prometheus_text(
        services.store, gauges=(breaker_gauges, approval_gauges)),
                             media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/api/metrics", response_model=MetricsOut, summary="Metrics as JSON")
async def metrics(services: ServicesDep, _user: Viewer, since: str | None = _SINCE
                  ) -> MetricsOut:
    """Calls, error rate, latency percentiles, tokens and cost, overall and by dimension."""
    report = await compute_metrics(
        services.store, since=since_param(since))
    return MetricsOut(since=report.since, until=report.until,
                      overall=[_group(g) for g in report.overall],
                      by={dim: [_group(g) for g in groups] for dim, groups in report.by.items()})


@router.get("/api/metrics/overview", response_model=OverviewOut, summary="Headline figures")
async def headline(services: ServicesDep, _user: Viewer) -> OverviewOut:
    """Runs, error rate and P95 latency (24 h), cost today, pending approvals."""
    found = await overview(services.store, services.approvals,
                           active=len(services.worker.active()))
    return OverviewOut(**found.__dict__)


@router.get("/api/metrics/timeseries", response_model=TimeSeriesOut,
            summary="Cost and latency over time")
async def timeseries(services: ServicesDep, _user: Viewer,
                     since: str = Query("24h", max_length=40,
                                        description="Start of the window: 24h, 7d, a date."),
                     buckets: int = Query(24, ge=1, le=500),
                     top: int = Query(6, ge=1, le=20, description="Groups kept per dimension.")
                     ) -> TimeSeriesOut:
    """Per bucket: the cost and P95 latency of the busiest agents and models."""
    start = since_param(since)
    assert start is not None  # `since` always has a value here
    found = await time_series(services.store, since=start, buckets=buckets, top=top)
    return TimeSeriesOut(
        since=found.since, until=found.until, bucket_seconds=found.bucket_seconds,
        starts=list(found.starts),
        by={dim: [SeriesOut(key=s.key, calls=list(s.calls), cost_usd=list(s.cost_usd),
                            p95_ms=list(s.p95_ms)) for s in series]
            for dim, series in found.by.items()})
