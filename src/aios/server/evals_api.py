"""REST API of evaluations: stored suite runs, their reports, and A/B comparisons."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from aios.evaluation.harness import EvalReport, load_report
from aios.evaluation.records import EvalRunRecord, EvalStore
from aios.evaluation.stats import Comparison, compare_results
from aios.server.auth import ServicesDep, Viewer
from aios.server.jsonsafe import json_safe
from aios.store.engine import Store

__all__ = ["EvalReportOut", "EvalRunOut", "compare_runs", "router"]

router = APIRouter(prefix="/api/evals", tags=["evaluations"])


class EvalRunOut(BaseModel):
    """A suite run as listed."""

    id: str
    suite: str
    suite_path: str | None
    target: str
    status: str
    samples: int
    repeats: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    accuracy: float | None = Field(description="From the summary, once the run finished.")


class EvalReportOut(BaseModel):
    """A run, its summary and every result (as `aios eval show --json`)."""

    run: EvalRunOut
    summary: dict[str, Any]
    results: list[dict[str, Any]]


def eval_run_out(record: EvalRunRecord) -> EvalRunOut:
    """The listing view of a suite run."""
    accuracy = (record.summary or {}).get("accuracy")
    return EvalRunOut(**record.to_json(),
                      accuracy=accuracy if isinstance(accuracy, int | float) else None)


async def compare_runs(store: Store, run_a: str, run_b: str,
                       evaluator: str | None) -> tuple[EvalReport, EvalReport, Comparison]:
    """Both reports and their comparison on the samples they share.

    Raises:
        NotFoundError: a run does not exist. ConfigError: no shared sample, or an evaluator
            neither run has.
    """
    a, b = await load_report(store, run_a), await load_report(store, run_b)
    # The bootstrap resamples thousands of times: off the event loop.
    comparison = await asyncio.to_thread(compare_results, a.results, b.results,
                                         label_a=a.run.id[:12], label_b=b.run.id[:12],
                                         evaluator=evaluator)
    return a, b, comparison


@router.get("", response_model=list[EvalRunOut], summary="List evaluation runs")
async def list_evals(services: ServicesDep, _user: Viewer,
                     limit: int = Query(20, ge=1, le=500),
                     suite: str | None = Query(None, max_length=200)) -> list[EvalRunOut]:
    """The most recent suite runs first."""
    return [eval_run_out(r) for r in await EvalStore(services.store).list_runs(limit, suite)]


@router.get("/compare", response_model=dict[str, Any], summary="Compare two runs")
async def compare(services: ServicesDep, _user: Viewer,
                  a: str = Query(min_length=1, max_length=64, description="Run A (baseline)."),
                  b: str = Query(min_length=1, max_length=64, description="Run B."),
                  evaluator: str | None = Query(None, max_length=200,
                                                description="Compare on this evaluator only.")
                  ) -> dict[str, Any]:
    """Pass rates, McNemar's exact test, bootstrap intervals, effect size and a verdict."""
    _, _, comparison = await compare_runs(services.store, a, b, evaluator)
    data: dict[str, Any] = json_safe(comparison.to_json())
    return data


@router.get("/{run_id}", response_model=EvalReportOut, summary="Show an evaluation run")
async def show_eval(run_id: str, services: ServicesDep, _user: Viewer) -> EvalReportOut:
    """A run by id or unique prefix, with its summary and results."""
    report = await load_report(services.store, run_id)
    return EvalReportOut(run=eval_run_out(report.run),
                         summary=json_safe(report.summary.to_json()),
                         results=[json_safe(r.to_json()) for r in report.results])
