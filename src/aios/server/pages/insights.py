"""Pages of what the store has learned: charts, evaluations, red-team findings, discovery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aios.auth.users import Role
from aios.discovery.export import EXPORTERS
from aios.discovery.report import mission_row
from aios.discovery.store import DiscoveryStore
from aios.evaluation.harness import load_report
from aios.evaluation.html import comparison_html, report_html
from aios.evaluation.records import EvalStore
from aios.observability.metrics import compute_metrics
from aios.server.auth import ServicesDep
from aios.server.discovery_api import graphs, load_graph
from aios.server.evals_api import compare_runs
from aios.server.pages.render import render
from aios.server.pages.svg import line_chart_svg
from aios.server.params import since_param
from aios.server.redteam_store import RedTeamStore
from aios.server.sessions import Session, form_session, page_session
from aios.server.timeseries import time_series

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ViewerPage = Annotated[Session, Depends(page_session(Role.viewer))]
AdminForm = Annotated[Session, Depends(form_session(Role.admin))]

#: Documents shown in a frame: their own inline styles (and the graph viewer's script), no
#: network, framed only by this site.
_REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
               "frame-ancestors 'self'")
_VIEWER_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
               "img-src data:; frame-ancestors 'self'")

_WINDOWS = ("1h", "6h", "24h", "7d", "30d")


def _document(html: str, csp: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Security-Policy": csp})


@router.get("/charts")
async def charts_page(request: Request, services: ServicesDep, session: ViewerPage,
                      since: str = "24h") -> Response:
    """Cost and P95 latency over time by agent and by model, and the window's figures."""
    start = since_param(since if since in _WINDOWS else "24h")
    assert start is not None
    series = await time_series(services.store, since=start, buckets=24, top=6)
    report = await compute_metrics(services.store, since=start)
    charts = [line_chart_svg(f"{label} by {dim} ({since})", series.starts,
                             [(s.key, getattr(s, field)) for s in series.by[dim]], unit=unit)
              for dim in ("agent", "model")
              for label, field, unit in (("P95 latency", "p95_ms", "ms"),
                                         ("LLM cost", "cost_usd", "usd"))]
    return render(request, "charts.html", session, title="Charts", charts=charts,
                  report=report, since=since, windows=_WINDOWS)


@router.get("/evals")
async def evals_page(request: Request, services: ServicesDep,
                     session: ViewerPage) -> Response:
    """Suite runs, and a form to compare two of them."""
    found = await EvalStore(services.store).list_runs(100)
    return render(request, "evals.html", session, title="Evaluations", runs=found)


@router.get("/evals/compare")
async def compare_page(request: Request, services: ServicesDep, session: ViewerPage,
                       a: str = "", b: str = "", evaluator: str = "") -> Response:
    """The A/B comparison of two runs (McNemar's test, bootstrap intervals, verdict)."""
    run_a, run_b, comparison = await compare_runs(services.store, a, b, evaluator or None)
    return render(request, "eval_compare.html", session, title="Comparison", a=run_a.run,
                  b=run_b.run, comparison=comparison, evaluator=evaluator)


@router.get("/evals/compare/report.html")
async def compare_document(services: ServicesDep, _session: ViewerPage, a: str = "",
                           b: str = "", evaluator: str = "") -> Response:
    """The comparison as the standalone page `aios eval compare --out x.html` writes."""
    _, _, comparison = await compare_runs(services.store, a, b, evaluator or None)
    return _document(comparison_html(comparison), _REPORT_CSP)


@router.get("/evals/{run_id}")
async def eval_page(request: Request, run_id: str, services: ServicesDep,
                    session: ViewerPage) -> Response:
    """One suite run: headline figures and its full report."""
    report = await load_report(services.store, run_id)
    return render(request, "eval.html", session, title=f"Evaluation {report.run.id[:12]}",
                  report=report)


@router.get("/evals/{run_id}/report.html")
async def eval_document(run_id: str, services: ServicesDep,
                        _session: ViewerPage) -> Response:
    """The run's standalone HTML report (charts, every result)."""
    return _document(report_html(await load_report(services.store, run_id)), _REPORT_CSP)


@router.get("/redteam")
async def redteam_page(request: Request, services: ServicesDep,
                       session: ViewerPage) -> Response:
    """Stored red-team reports with their totals."""
    found = await RedTeamStore(services.store).list(100)
    return render(request, "redteam.html", session, title="Red team", reports=found,
                  is_admin=session.user.role.allows(Role.admin))


@router.post("/redteam/run")
async def start_redteam(services: ServicesDep, session: AdminForm,
                        target: Annotated[str, Form(max_length=500)] = "model:",
                        guardrails: Annotated[str, Form(max_length=10)] = "both") -> Response:
    """Start a red-team run in the background (admins), then show the list it appears in."""
    from urllib.parse import quote

    from aios.errors import AiosError
    from aios.server.redteam_api import RedTeamRun, start_run

    try:
        spec = RedTeamRun(target=target, guardrails=guardrails)  # type: ignore[arg-type]
        record = await start_run(spec, services, session.user)
    except (AiosError, ValueError) as exc:
        return RedirectResponse(f"/redteam?error={quote(str(exc)[:300])}", status_code=303)
    notice = quote(f"red-team run {record.id[:12]} started")
    return RedirectResponse(f"/redteam?notice={notice}", status_code=303)


@router.get("/redteam/{report_id}")
async def redteam_report_page(request: Request, report_id: str, services: ServicesDep,
                              session: ViewerPage) -> Response:
    """One report: by family and severity, then every finding with its transcript."""
    record = await RedTeamStore(services.store).get(report_id)
    runs = (record.report or {}).get("runs", {})
    families = sorted({f for body in runs.values()
                       for f in (body.get("summary") or {}).get("by_family", {})})
    return render(request, "redteam_report.html", session, title="Red-team report",
                  record=record, runs=runs, families=families,
                  severities=("low", "medium", "high", "critical"))


@router.get("/discovery")
async def discovery_page(request: Request, services: ServicesDep,
                         session: ViewerPage) -> Response:
    """Discovery missions and the knowledge graphs they built."""
    missions = [mission_row(r) for r in await DiscoveryStore(services.store).recent(50)]
    named = await graphs(services, session.user)
    return render(request, "discovery.html", session, title="Discovery", missions=missions,
                  graphs=named)


@router.get("/discovery/graphs/{name}")
async def graph_page(request: Request, name: str, services: ServicesDep,
                     session: ViewerPage) -> Response:
    """A knowledge graph in the interactive viewer (the same page `aios discover export`
    writes), framed in the dashboard."""
    kg = await load_graph(services.store, name)
    return render(request, "graph.html", session, title=f"Graph {name}", name=name,
                  entities=kg.entity_count, claims=kg.claim_count)


@router.get("/discovery/graphs/{name}/viewer")
async def graph_viewer(name: str, services: ServicesDep, _session: ViewerPage) -> Response:
    """The viewer document itself (its script is inline, so it gets its own policy)."""
    kg = await load_graph(services.store, name)
    return _document(EXPORTERS["html"](kg, {"graph": name}), _VIEWER_CSP)
