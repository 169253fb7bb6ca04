"""REST API of red-team reports: list, show, upload, and run the attack catalogue.

Reports are what `aios redteam --json` prints, kept in the store. Runs started here attack
a target with the server's gateway and manifest (guardrails off, on, or both) in the
background; the report appears when they finish. Starting a run or uploading needs the admin
role: a target names code to import (`callable:`) or a URL to call (`http:`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from aios.errors import AiosError
from aios.server.app import Services
from aios.server.auth import Admin, ServicesDep, Viewer
from aios.server.jsonsafe import json_safe
from aios.server.redteam_store import RedTeamRecord, RedTeamStore

__all__ = ["RedTeamOut", "RedTeamRun", "RedTeamUpload", "router", "run_redteam"]

log = logging.getLogger("aios.server.redteam")

router = APIRouter(prefix="/api/redteam", tags=["red team"])

_MODES = {"off": ("off",), "on": ("on",), "both": ("off", "on")}


class Finding(BaseModel):
    """How one attack went."""

    model_config = ConfigDict(extra="allow")

    id: str
    family: str
    severity: str
    succeeded: bool
    evidence: str | None = None
    blocked: str | None = None
    error: str | None = None
    transcript: list[dict[str, Any]] = Field(default_factory=list)


class ModeReport(BaseModel):
    """The attacks of one guardrail mode."""

    summary: dict[str, Any]
    results: list[Finding]


class RedTeamUpload(BaseModel):
    """A report as `aios redteam --json` prints it."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, max_length=500)
    runs: dict[str, ModeReport] = Field(description="By mode: guardrails_off, guardrails_on.")


class RedTeamRun(BaseModel):
    """Attack a target with the built-in catalogue (or part of it)."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field("model:", min_length=1, max_length=500,
                        description="model:[NAME] | callable:mod:fn | http:URL[#model] | "
                                    "agent:[MANIFEST][#AGENT][@MODEL]")
    guardrails: Literal["on", "off", "both"] = "both"
    families: list[str] | None = Field(None, description="Only these attack families.")
    attacks: list[str] | None = Field(None, description="Only these attack ids.")


class RedTeamOut(BaseModel):
    """A stored report; `report` is present when one report is shown."""

    id: str
    target: str
    status: str = Field(description="running | succeeded | failed")
    source: str = Field(description="run | upload")
    requested_by: str
    options: dict[str, Any]
    summary: dict[str, dict[str, int]] | None = Field(
        description="Per mode: attacks, succeeded, blocked, errors.")
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    report: dict[str, Any] | None = None


def _out(record: RedTeamRecord) -> RedTeamOut:
    return RedTeamOut(id=record.id, target=record.target, status=record.status,
                      source=record.source, requested_by=record.requested_by,
                      options=record.options, summary=record.summary, error=record.error,
                      created_at=record.created_at, finished_at=record.finished_at,
                      report=json_safe(record.report) if record.report is not None else None)


async def run_redteam(services: Services, spec: RedTeamRun) -> dict[str, Any]:
    """Run the catalogue against `spec.target` with the server's gateway and manifest; the
    report as `aios redteam --json` prints it.

    Raises:
        NotFoundError, ConfigError: an unknown target scheme or attack, a bad catalogue.
    """
    from aios.security.guardrails import Guardrails
    from aios.security.redteam import load_catalog, resolve_target, run_suite, to_json

    manifest = services.manifest
    attacks = load_catalog(None, families=spec.families, ids=spec.attacks)
    guards = Guardrails(policy=manifest.guardrails)
    runs: dict[str, Any] = {}
    name = spec.target
    for mode in _MODES[spec.guardrails]:
        # A fresh target per mode: an agent target's runtime has the guardrail layer on.
        target = resolve_target(spec.target, manifest=manifest,
                                forensic=services.runtime.forensic, assume_yes=False,
                                runs=services.runtime.runs, gateway=services.runtime.llm,
                                guardrails=guards if mode == "on" else None)
        name = target.name
        runs[f"guardrails_{mode}"] = await run_suite(attacks, target,
                                                     guards if mode == "on" else None)
    report: dict[str, Any] = json_safe(to_json(runs, name))
    return report


async def _background(services: Services, reports: RedTeamStore, report_id: str,
                      spec: RedTeamRun) -> None:
    try:
        report = await run_redteam(services, spec)
    except AiosError as exc:
        await reports.finish(report_id, error=str(exc))
        return
    except Exception as exc:  # recorded on the report, not lost in a background task
        log.exception("red-team run %s failed", report_id)
        await reports.finish(report_id, error=f"{type(exc).__name__}: {exc}")
        return
    await reports.finish(report_id, report=report)


@router.get("/reports", response_model=list[RedTeamOut], summary="List red-team reports")
async def list_reports(services: ServicesDep, _user: Viewer,
                       limit: int = Query(20, ge=1, le=500)) -> list[RedTeamOut]:
    """The most recent reports first, with per-mode totals (no findings)."""
    return [_out(r) for r in await RedTeamStore(services.store).list(limit)]


@router.get("/reports/{report_id}", response_model=RedTeamOut, summary="Show a report")
async def show_report(report_id: str, services: ServicesDep, _user: Viewer) -> RedTeamOut:
    """A report by id or unique prefix, with every finding and transcript."""
    return _out(await RedTeamStore(services.store).get(report_id))


@router.post("/reports", response_model=RedTeamOut, status_code=201,
             summary="Upload a report")
async def upload_report(body: RedTeamUpload, services: ServicesDep, user: Admin
                        ) -> RedTeamOut:
    """Keep a report made elsewhere (`aios redteam --json > report.json`)."""
    reports = RedTeamStore(services.store)
    report = body.model_dump(mode="json", exclude_none=True)
    report_id = await reports.create(target=body.target, source="upload",
                                     requested_by=user.name, options={}, report=report)
    return _out(await reports.get(report_id))


@router.post("/runs", response_model=RedTeamOut, status_code=202, summary="Run the attacks")
async def start_run(body: RedTeamRun, services: ServicesDep, user: Admin) -> RedTeamOut:
    """Attack a target in the background; poll the report until it is no longer running."""
    from aios.security.redteam import target_needs

    target_needs(body.target)  # an unknown scheme is a 404 now, not a failed report later
    reports = RedTeamStore(services.store)
    report_id = await reports.create(target=body.target, source="run", requested_by=user.name,
                                     options=body.model_dump(exclude={"target"}))
    services.worker.background(_background(services, reports, report_id, body),
                               name=f"aios red team {report_id}")
    return _out(await reports.get(report_id))
