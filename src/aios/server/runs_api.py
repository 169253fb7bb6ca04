"""REST API of runs: start a sequence or an action, list, show, cancel, resume; the manifest.

Runs started here execute in the server's runtime (the full pipeline: tracing, guardrails,
approvals, reliability, idempotency), recorded as requested by the authenticated user.
Starting, cancelling and resuming need the approver role; reading needs a viewer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aios.manifest.loader import manifest_digest
from aios.server.auth import Approver, ServicesDep, Viewer
from aios.server.dag import DagNode, run_dag, sequence_dag
from aios.store.runs import RunRecord

__all__ = ["DagNodeOut", "ManifestOut", "RunDetailOut", "RunOut", "StartRun", "StepOut",
           "router"]

router = APIRouter(prefix="/api", tags=["runs"])


class StartRun(BaseModel):
    """What to run: a sequence of the manifest, or one action with arguments."""

    model_config = ConfigDict(extra="forbid")

    sequence: str | None = Field(None, min_length=1, max_length=200,
                                 description="A sequence of the server's manifest.")
    action: str | None = Field(None, min_length=1, max_length=200,
                               description="One action, `agent.key`, run as a run of its own.")
    args: dict[str, Any] = Field(default_factory=dict,
                                 description="Arguments of `action` (checked against its "
                                             "input schema).")

    @model_validator(mode="after")
    def _one_target(self) -> StartRun:
        if (self.sequence is None) == (self.action is None):
            raise ValueError("give exactly one of `sequence` and `action`")
        if self.sequence is not None and self.args:
            raise ValueError("`args` go with `action`; a sequence's steps carry their own")
        return self


class StepOut(BaseModel):
    """The latest state of one step."""

    step_id: str
    action: str
    status: str = Field(description="running | waiting | succeeded | failed | skipped | "
                                    "cancelled | pending")
    attempt: int
    at: datetime
    duration_ms: float | None
    result: Any = None
    error: str | None


class RunOut(BaseModel):
    """A run as listed."""

    id: str
    kind: str = Field(description="sequence | action")
    target: str = Field(description="The sequence or action run.")
    status: str = Field(description="running | waiting | succeeded | failed | cancelled | "
                                    "interrupted (its process died) | pending")
    forensic: bool
    manifest_name: str
    manifest_digest: str
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    active: bool = Field(description="True while it executes in this server.")
    initiator: str | None = Field(None, description="Who started it (null for runs recorded "
                                                    "before this was stored).")
    resumed_by: list[str] = Field(default_factory=list, description="Who resumed it since.")


class DagNodeOut(BaseModel):
    """One step of the action DAG."""

    id: str
    action: str
    depends_on: list[str]
    status: str
    critical: bool


class ApprovalBrief(BaseModel):
    """An approval request of the run (details under /api/approvals/{id})."""

    id: str
    step_id: str
    action: str
    status: str
    required_approvals: int
    approvers: list[str]


class RunDetailOut(RunOut):
    """A run with its steps, published metadata, DAG and approval requests."""

    steps: list[StepOut]
    metadata: dict[str, dict[str, Any]]
    dag: list[DagNodeOut]
    approvals: list[ApprovalBrief]


class ActionOut(BaseModel):
    """An action of the manifest."""

    name: str
    description: str
    criticality: str
    mutates: bool
    inputs: dict[str, Any]


class SequenceOut(BaseModel):
    """A sequence of the manifest with its DAG."""

    name: str
    description: str
    steps: list[DagNodeOut]


class ManifestOut(BaseModel):
    """What the server's runtime can run."""

    name: str
    description: str
    digest: str
    forensic: bool
    sequences: list[SequenceOut]
    actions: list[ActionOut]


def _node(node: DagNode) -> DagNodeOut:
    return DagNodeOut(id=node.id, action=node.action, depends_on=list(node.depends_on),
                      status=node.status, critical=node.critical)


def run_out(record: RunRecord, active: bool) -> RunOut:
    """The listing view of a run."""
    return RunOut(id=record.id, kind=record.kind, target=record.target, status=record.status,
                  forensic=record.forensic, manifest_name=record.manifest_name,
                  manifest_digest=record.manifest_digest, error=record.error,
                  created_at=record.created_at, finished_at=record.finished_at, active=active,
                  initiator=record.initiator, resumed_by=list(record.resumed_by))


@router.get("/manifest", response_model=ManifestOut, summary="The server's manifest")
async def show_manifest(services: ServicesDep, _user: Viewer) -> ManifestOut:
    """Its sequences (with their DAGs) and actions: what `POST /api/runs` accepts."""
    m = services.manifest
    return ManifestOut(
        name=m.name, description=m.description, digest=manifest_digest(m),
        forensic=services.runtime.forensic,
        sequences=[SequenceOut(name=name, description=spec.description,
                               steps=[_node(n) for n in sequence_dag(spec)])
                   for name, spec in sorted(m.sequences.items())],
        actions=[ActionOut(name=name, description=m.action(name).description,
                           criticality=m.action(name).criticality.value,
                           mutates=m.action(name).mutates, inputs=m.action(name).inputs)
                 for name in sorted(m.action_names())])


@router.post("/runs", response_model=RunOut, status_code=202, summary="Start a run")
async def start_run(body: StartRun, services: ServicesDep, user: Approver) -> RunOut:
    """Start a sequence or an action in the server's runtime, as the token's user.

    Answers once the run is recorded; it goes on in the background (watch it with
    GET /api/runs/{id} or the event stream GET /api/events).
    """
    run_id = await services.worker.start(requester=user.name, sequence=body.sequence,
                                         action=body.action, args=body.args)
    return run_out(await services.runtime.runs.get_run(run_id),
                   services.worker.is_active(run_id))


@router.get("/runs", response_model=list[RunOut], summary="List runs")
async def list_runs(services: ServicesDep, _user: Viewer,
                    limit: int = Query(20, ge=1, le=500),
                    status: str | None = Query(None, max_length=20,
                                               description="Only runs in this state.")
                    ) -> list[RunOut]:
    """The most recent runs first."""
    found = await services.runtime.runs.list_runs(limit, status)
    return [run_out(r, services.worker.is_active(r.id)) for r in found]


@router.get("/runs/{run_id}", response_model=RunDetailOut, summary="Show a run")
async def show_run(run_id: str, services: ServicesDep, _user: Viewer) -> RunDetailOut:
    """A run by id or unique prefix, with its steps, metadata, DAG and approvals."""
    record = await services.runtime.runs.get_run(run_id)
    requests = await services.approvals.queue(statuses=None, run_id=record.id, limit=1000)
    base = run_out(record, services.worker.is_active(record.id))
    return RunDetailOut(
        **base.model_dump(),
        steps=[StepOut(step_id=s.step_id, action=s.action, status=s.status, attempt=s.attempt,
                       at=s.at, duration_ms=s.duration_ms, result=s.result, error=s.error)
               for s in record.steps],
        metadata=record.metadata,
        dag=[_node(n) for n in run_dag(services.manifest, record,
                                       digest=services.worker.digest)],
        approvals=[ApprovalBrief(id=r.id, step_id=r.step_id, action=r.action, status=r.status,
                                 required_approvals=r.required_approvals,
                                 approvers=r.approvers()) for r in requests])


@router.post("/runs/{run_id}/cancel", response_model=RunOut, summary="Cancel a run")
async def cancel_run(run_id: str, services: ServicesDep, user: Approver) -> RunOut:
    """Stop a run executing here, or record a waiting one as cancelled (409 if it ended)."""
    found = await services.worker.cancel(run_id, actor=user.name)
    return run_out(await services.runtime.runs.get_run(found), services.worker.is_active(found))


@router.post("/runs/{run_id}/resume", response_model=RunOut, status_code=202,
             summary="Resume a run")
async def resume_run(run_id: str, services: ServicesDep, user: Approver) -> RunOut:
    """Continue a run that stopped part-way; finished steps keep their results.

    Waiting runs resume by themselves once their approvals are decided; this is for runs
    that failed, were cancelled or interrupted.
    """
    found = await services.worker.resume(run_id, requester=user.name)
    return run_out(await services.runtime.runs.get_run(found), services.worker.is_active(found))
