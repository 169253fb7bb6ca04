"""REST API of the approval queue: list, show, approve, reject, edit-and-approve.

Every route applies passed deadlines first, so nobody decides a request that has expired.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from aios.approvals.requests import DECIDABLE, STATUSES, ApprovalRequest
from aios.server.auth import Approver, ServicesDep, Viewer

__all__ = ["ApprovalOut", "ApproveBody", "EditBody", "RejectBody", "router"]

router = APIRouter(prefix="/api/approvals", tags=["approvals"])


class DecisionOut(BaseModel):
    """One approver's decision."""

    decider: str
    decision: str = Field(description="approve | reject")
    reason: str | None
    args_hash: str = Field(description="SHA-256 of the arguments the decision applies to.")
    edited: bool
    at: str


class ApprovalOut(BaseModel):
    """An approval request with its decisions and argument lineage."""

    model_config = ConfigDict(extra="allow")

    id: str
    run_id: str
    step_id: str
    action: str
    status: str = Field(description="pending | escalated | approved | rejected | expired | "
                                    "executed | withdrawn (its run was cancelled)")
    version: int = Field(description="Send it back when deciding to detect concurrent changes.")
    criticality: str
    priority: int
    requester: str
    reason: str
    risks: list[str]
    confidence: float | None
    args: dict[str, Any]
    args_hash: str
    current_args: dict[str, Any]
    effective_args: dict[str, Any] = Field(
        description="`current_args` with the action's JSON Schema defaults filled in: what "
                    "will run.")
    defaults: list[str] = Field(
        description="Dotted paths of the effective arguments that are schema defaults.")
    required_approvals: int
    approvers: list[str]
    group: str
    deadline: str | None
    lineage: list[dict[str, Any]]
    decisions: list[DecisionOut]


class ApproveBody(BaseModel):
    """Approve, optionally pinning the version you reviewed."""

    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(None, description="A note kept with the decision.")
    version: int | None = Field(None, description="The version you reviewed; 409 if newer.")


class EditBody(ApproveBody):
    """Approve with edited arguments (they must satisfy the action's input schema)."""

    args: dict[str, Any] = Field(description="The arguments to run instead of the proposed.")


class RejectBody(BaseModel):
    """Reject; the reason is required and shown to the requester."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, description="Why the action must not run.")
    version: int | None = Field(None, description="The version you reviewed; 409 if newer.")


def _out(req: ApprovalRequest) -> ApprovalOut:
    return ApprovalOut.model_validate(req.to_json())


@router.get("", response_model=list[ApprovalOut], summary="The approval queue")
async def list_requests(
        services: ServicesDep, _user: Viewer,
        status: list[str] | None = Query(None, description=f"Any of {', '.join(STATUSES)}; "
                                         "default: pending and escalated."),
        run_id: str | None = None, limit: int = Query(100, ge=1, le=1000)) -> list[ApprovalOut]:
    """Requests ordered by priority (critical first), then age."""
    await services.approvals.expire_due()
    found = await services.approvals.queue(statuses=status or DECIDABLE, run_id=run_id,
                                           limit=limit)
    return [_out(r) for r in found]


@router.get("/{request_id}", response_model=ApprovalOut, summary="One request")
async def show_request(request_id: str, services: ServicesDep, _user: Viewer) -> ApprovalOut:
    """A request by id or unique prefix."""
    req = await services.approvals.get(request_id)
    await services.approvals.expire_due(ids=[req.id])
    return _out(await services.approvals.get(req.id))


@router.post("/{request_id}/approve", response_model=ApprovalOut, summary="Approve")
async def approve(request_id: str, body: ApproveBody, services: ServicesDep,
                  user: Approver) -> ApprovalOut:
    """Approve as the token's user (409 if decided or withdrawn meanwhile, 403 for your own
    request)."""
    return _out(await services.approvals.approve(request_id, user, comment=body.comment,
                                                 version=body.version))


@router.post("/{request_id}/edit", response_model=ApprovalOut, summary="Edit and approve")
async def edit_and_approve(request_id: str, body: EditBody, services: ServicesDep,
                           user: Approver) -> ApprovalOut:
    """Approve with other arguments; approvals of the old arguments stop counting."""
    return _out(await services.approvals.approve(request_id, user, edited_args=body.args,
                                                 comment=body.comment, version=body.version))


@router.post("/{request_id}/reject", response_model=ApprovalOut, summary="Reject")
async def reject(request_id: str, body: RejectBody, services: ServicesDep,
                 user: Approver) -> ApprovalOut:
    """Reject with a reason; the step fails with it when its run resumes."""
    return _out(await services.approvals.reject(request_id, user, reason=body.reason,
                                                version=body.version))
