"""REST API of traces: the stored spans of runs, actions and LLM calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from aios.observability.traces import SpanNode, get_trace, list_traces
from aios.server.auth import ServicesDep, Viewer
from aios.server.params import since_param

__all__ = ["SpanOut", "TraceOut", "TraceSummaryOut", "router"]

router = APIRouter(prefix="/api/traces", tags=["traces"])


class TraceSummaryOut(BaseModel):
    """One trace in a listing."""

    trace_id: str
    name: str = Field(description="The root span's name.")
    run_id: str | None
    start: datetime
    duration_ms: float
    spans: int
    errors: int
    status: str = Field(description="ok | error")
    input_tokens: int
    output_tokens: int
    cost_usd: float


class SpanOut(BaseModel):
    """One span with its children, in start order."""

    span_id: str
    parent_id: str | None
    name: str
    kind: str = Field(description="run | action | llm | approval | guardrail | retry | other")
    start: datetime
    duration_ms: float
    status: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: str | None
    attributes: dict[str, Any]
    events: list[dict[str, Any]]
    children: list[SpanOut]


class TraceOut(BaseModel):
    """A whole trace as a tree."""

    trace_id: str
    spans: int
    roots: list[SpanOut]


def span_out(node: SpanNode) -> SpanOut:
    """The API view of a span tree."""
    return SpanOut(span_id=node.span_id, parent_id=node.parent_id, name=node.name,
                   kind=node.kind, start=node.start, duration_ms=node.duration_ms,
                   status=node.status, input_tokens=node.input_tokens,
                   output_tokens=node.output_tokens, cost_usd=node.cost_usd, error=node.error,
                   attributes=node.attributes, events=node.events,
                   children=[span_out(c) for c in node.children])


@router.get("", response_model=list[TraceSummaryOut], summary="List traces")
async def traces(services: ServicesDep, _user: Viewer,
                 limit: int = Query(20, ge=1, le=500),
                 run_id: str | None = Query(None, max_length=64),
                 agent: str | None = Query(None, max_length=100),
                 status: Literal["ok", "error"] | None = None,
                 since: str | None = Query(None, max_length=40,
                                           description="30m, 24h, 7d, or a date/time.")
                 ) -> list[TraceSummaryOut]:
    """The most recent traces first, filtered by run, agent, status and start time."""
    found = await list_traces(services.store, limit=limit, run_id=run_id, agent=agent,
                              status=status,
                              since=since_param(since))
    return [TraceSummaryOut(**t.to_json()) for t in found]


@router.get("/{ident}", response_model=TraceOut, summary="Show a trace")
async def trace(ident: str, services: ServicesDep, _user: Viewer) -> TraceOut:
    """A trace by id (or a unique prefix of 4+ characters), or the latest trace of a run id."""
    tree = await get_trace(services.store, ident)
    return TraceOut(trace_id=tree.trace_id, spans=tree.span_count,
                    roots=[span_out(r) for r in tree.roots])
