"""Pages of runs and traces: the overview, the runs list, a run with its live DAG, traces."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from aios.approvals.requests import ApprovalRequest
from aios.auth.users import Role
from aios.errors import AiosError, ConfigError, NotFoundError
from aios.observability.traces import get_trace, list_traces
from aios.server.auth import ServicesDep
from aios.server.dag import run_dag
from aios.server.overview import overview
from aios.server.pages.render import render
from aios.server.pages.svg import dag_svg, line_chart_svg, waterfall_svg
from aios.server.sessions import Session, form_session, page_session
from aios.server.timeseries import time_series
from aios.store.agent_turns import AgentTurnStore, TurnEntry

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ViewerPage = Annotated[Session, Depends(page_session(Role.viewer))]
ApproverForm = Annotated[Session, Depends(form_session(Role.approver))]


def _back(path: str, *, notice: str = "", error: str = "") -> RedirectResponse:
    query = f"?notice={quote(notice)}" if notice else f"?error={quote(error)}" if error else ""
    return RedirectResponse(path + query, status_code=303)


@router.get("/")
async def overview_page(request: Request, services: ServicesDep,
                        session: ViewerPage) -> Response:
    """Headline figures, recent runs (live), a form to start a run, two charts."""
    figures = await overview(services.store, services.approvals,
                             active=len(services.worker.active()))
    recent = await services.runtime.runs.list_runs(15)
    series = await time_series(services.store, since=datetime.now(UTC) - timedelta(hours=24),
                               buckets=24, top=5)
    charts = [
        line_chart_svg("P95 latency by agent (24 h)", series.starts,
                       [(s.key, s.p95_ms) for s in series.by["agent"]], unit="ms"),
        line_chart_svg("LLM cost by model (24 h)", series.starts,
                       [(s.key, s.cost_usd) for s in series.by["model"]], unit="usd"),
    ]
    manifest = services.manifest
    return render(request, "overview.html", session, title="Overview", figures=figures,
                  runs=recent, active=set(services.worker.active()), charts=charts,
                  sequences=sorted(manifest.sequences), actions=manifest.action_names(),
                  live=True)


@router.get("/runs")
async def runs_page(request: Request, services: ServicesDep, session: ViewerPage,
                    status: str | None = None) -> Response:
    """The most recent runs (live), optionally of one status."""
    found = await services.runtime.runs.list_runs(100, status or None)
    return render(request, "runs.html", session, title="Runs", runs=found,
                  active=set(services.worker.active()), status_filter=status or "",
                  live=True)


@router.post("/runs")
async def start_run(request: Request, services: ServicesDep, session: ApproverForm,
                    sequence: Annotated[str, Form(max_length=200)] = "",
                    action: Annotated[str, Form(max_length=200)] = "",
                    args: Annotated[str, Form(max_length=100_000)] = "") -> Response:
    """Start a sequence (or an action with JSON arguments) and open its page."""
    try:
        parsed: dict[str, Any] = {}
        if action and args.strip():
            try:
                parsed = json.loads(args)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"the arguments are not JSON: {exc.msg} at line "
                                  f"{exc.lineno} column {exc.colno}") from None
            if not isinstance(parsed, dict):
                raise ConfigError("the arguments must be a JSON object, like {\"top\": 3}")
        if bool(sequence) == bool(action):
            raise ConfigError("choose a sequence or an action to run")
        run_id = await services.worker.start(requester=session.user.name,
                                             sequence=sequence or None,
                                             action=action or None, args=parsed)
    except AiosError as exc:
        return _back("/", error=str(exc))
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


def conversation_view(entries: list[TurnEntry],
                      requests: list[ApprovalRequest]) -> list[dict[str, Any]]:
    """An agent run's conversation for the page: each tool call with its gate inline."""
    by_step = {r.step_id: r for r in requests}
    results = {(e.data["turn"], e.data["call_id"]): e.data for e in entries if e.kind == "tool"}
    view: list[dict[str, Any]] = []
    for entry in entries:
        data = entry.data
        if entry.kind == "message":
            view.append({"kind": data["role"], "text": data["content"]})
        elif entry.kind == "model":
            calls = []
            for index, call in enumerate(data["tool_calls"]):
                result = results.get((data["turn"], call["id"]))
                step = (result or {}).get("step_id") or \
                    f"t{data['turn']}.{index}:{call['name'].replace('__', '.', 1)}"
                calls.append({"name": call["name"], "arguments": call["arguments"],
                              "status": result["status"] if result else "waiting",
                              "result": result["content"] if result else "",
                              "request": by_step.get(step)})
            view.append({"kind": "model", "text": data["text"], "calls": calls,
                         "model": data.get("model")})
        elif entry.kind == "end":
            view.append({"kind": "end", "text": data.get("answer") or data.get("detail") or "",
                         "reason": data["reason"]})
    return view


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str, services: ServicesDep,
                   session: ViewerPage) -> Response:
    """A run: its DAG and steps (updated live), metadata, approvals, and its trace."""
    # Step changes are queued before their events are sent: committing the queue makes the
    # page at least as new as the events it will not be sent again (see `page_session`).
    await services.runtime.runs.writer.flush()
    record = await services.runtime.runs.get_run(run_id)
    requests = await services.approvals.queue(statuses=None, run_id=record.id, limit=1000)
    traces = await list_traces(services.store, run_id=record.id, limit=5)
    conversation = (conversation_view(await AgentTurnStore(services.store).entries(record.id),
                                      requests) if record.kind == "agent" else [])
    return render(request, "run.html", session, title=f"Run {record.id[:12]}", run=record,
                  conversation=conversation,
                  dag=dag_svg(run_dag(services.manifest, record,
                                      digest=services.worker.digest)),
                  requests=requests,
                  traces=traces, active=services.worker.is_active(record.id),
                  live=True, run_id=record.id)


@router.get("/runs/{run_id}/conversation")
async def conversation_fragment(request: Request, run_id: str, services: ServicesDep,
                                session: ViewerPage) -> Response:
    """An agent run's conversation as the run page shows it (redrawn live by app.js)."""
    await services.runtime.runs.writer.flush()  # the turns announced are in the store
    record = await services.runtime.runs.get_run(run_id)
    if record.kind != "agent":
        raise NotFoundError(f"run {record.id[:12]} is a {record.kind} run; only agent runs "
                            "have a conversation")
    requests = await services.approvals.queue(statuses=None, run_id=record.id, limit=1000)
    entries = await AgentTurnStore(services.store).entries(record.id)
    return render(request, "_conversation.html", session,
                  conversation=conversation_view(entries, requests))


@router.post("/runs/{run_id}/cancel")
async def cancel_run(run_id: str, services: ServicesDep, session: ApproverForm) -> Response:
    """Cancel a run, then show it."""
    return await _act_on_run(run_id, services.worker.cancel(run_id, actor=session.user.name),
                             "run cancelled")


@router.post("/runs/{run_id}/resume")
async def resume_run(run_id: str, services: ServicesDep, session: ApproverForm) -> Response:
    """Resume a run, then show it."""
    return await _act_on_run(run_id, services.worker.resume(run_id,
                                                            requester=session.user.name),
                             "run resumed")


async def _act_on_run(run_id: str, action: Awaitable[str], notice: str) -> Response:
    """Await `action` (it returns the run's id), then show that run with `notice`, or show
    `run_id` with the error the action raised."""
    try:
        found = await action
    except AiosError as exc:
        return _back(f"/runs/{quote(run_id)}", error=str(exc))
    return _back(f"/runs/{found}", notice=notice)


@router.get("/traces")
async def traces_page(request: Request, services: ServicesDep, session: ViewerPage,
                      run_id: str | None = None) -> Response:
    """The most recent traces."""
    found = await list_traces(services.store, limit=100, run_id=run_id or None)
    return render(request, "traces.html", session, title="Traces", traces=found,
                  run_id=run_id or "")


@router.get("/traces/{ident}")
async def trace_page(request: Request, ident: str, services: ServicesDep,
                     session: ViewerPage) -> Response:
    """A trace as a waterfall, with every span's attributes."""
    tree = await get_trace(services.store, ident)
    spans: list[Any] = []
    stack = list(reversed(tree.roots))
    while stack:
        node = stack.pop()
        spans.append(node)
        stack.extend(sorted(node.children, key=lambda n: n.start, reverse=True))
    run_ids = {n.attributes.get("aios.run_id") for n in spans} - {None}
    return render(request, "trace.html", session, title=f"Trace {tree.trace_id[:12]}",
                  tree=tree, waterfall=waterfall_svg(tree), spans=spans,
                  run_ids=sorted(str(r) for r in run_ids))
