"""Pages of the approval queue: the queue, one request, approve / reject / edit forms.

Decisions go through the same `ApprovalService` as the REST API and the CLI (separation of
duties, distinct approvers, audit records); the run resumes as soon as it may.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from aios.approvals.requests import DECIDABLE
from aios.auth.users import Role
from aios.errors import AiosError, ConfigError
from aios.server.auth import ServicesDep
from aios.server.pages.render import render
from aios.server.sessions import Session, form_session, page_session
from aios.store.runs import run_parties

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ViewerPage = Annotated[Session, Depends(page_session(Role.viewer))]
ApproverForm = Annotated[Session, Depends(form_session(Role.approver))]

_DONE = ("approved", "rejected", "expired", "executed", "withdrawn")


def _back(request_id: str, *, notice: str = "", error: str = "") -> RedirectResponse:
    query = f"?notice={quote(notice)}" if notice else f"?error={quote(error)}"
    return RedirectResponse(f"/approvals/{quote(request_id)}{query}", status_code=303)


def _version(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


@router.get("/approvals")
async def queue_page(request: Request, services: ServicesDep, session: ViewerPage) -> Response:
    """Undecided requests (critical first), then the latest decided ones."""
    await services.approvals.expire_due()
    pending = await services.approvals.queue(statuses=DECIDABLE, limit=200)
    decided = await services.approvals.queue(statuses=_DONE, limit=30)
    decided.sort(key=lambda r: r.updated_at, reverse=True)
    return render(request, "approvals.html", session, title="Approvals", pending=pending,
                  decided=decided, live=True)


@router.get("/approvals/link/{token}")
async def open_link(token: str, services: ServicesDep, session: ViewerPage) -> Response:
    """A one-click link from a message: after log-in, check it (signature, expiry, its user,
    single use) and open the request's decision page. It never decides anything itself."""
    from aios.approvals.links import LinkSigner

    signer = LinkSigner(services.store, services.runtime.manifest.approvals.links)
    claim = await signer.redeem(token, session.user)
    return RedirectResponse(f"/approvals/{quote(claim.request_id)}?notice="
                            f"{quote('opened from your link; decide below')}",
                            status_code=303)


@router.get("/approvals/{request_id}")
async def request_page(request: Request, request_id: str, services: ServicesDep,
                       session: ViewerPage) -> Response:
    """One request: what, why, risks, confidence, arguments, decisions, and the forms."""
    found = await services.approvals.get(request_id)
    await services.approvals.expire_due(ids=[found.id])
    found = await services.approvals.get(found.id)
    parties = await run_parties(services.store, found.run_id)
    may_decide = (found.decidable and session.user.role.allows(Role.approver)
                  and session.user.name != found.requester
                  and session.user.name != parties.initiator
                  and session.user.name not in parties.resumers
                  and session.user.name not in found.approvers())
    return render(request, "approval.html", session, title=f"Approval {found.id[:12]}",
                  req=found, may_decide=may_decide,
                  args_text=json.dumps(found.current_args, indent=2, sort_keys=True),
                  live=True, run_id=found.run_id)


@router.post("/approvals/{request_id}/approve")
async def approve(request_id: str, services: ServicesDep, session: ApproverForm,
                  comment: Annotated[str, Form(max_length=2000)] = "",
                  version: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Approve as the signed-in user."""
    try:
        req = await services.approvals.approve(request_id, session.user,
                                               comment=comment.strip() or None,
                                               version=_version(version))
    except AiosError as exc:
        return _back(request_id, error=str(exc))
    return _back(req.id, notice=f"approved ({len(req.approvers())} of "
                                f"{req.required_approvals}); status {req.status}")


@router.post("/approvals/{request_id}/reject")
async def reject(request_id: str, services: ServicesDep, session: ApproverForm,
                 reason: Annotated[str, Form(max_length=2000)] = "",
                 version: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Reject as the signed-in user; a reason is required."""
    try:
        req = await services.approvals.reject(request_id, session.user, reason=reason,
                                              version=_version(version))
    except AiosError as exc:
        return _back(request_id, error=str(exc))
    return _back(req.id, notice="rejected")


@router.post("/approvals/{request_id}/edit")
async def edit(request_id: str, services: ServicesDep, session: ApproverForm,
               args: Annotated[str, Form(max_length=100_000)],
               comment: Annotated[str, Form(max_length=2000)] = "",
               version: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Approve with edited arguments (JSON; they must satisfy the action's input schema)."""
    try:
        try:
            edited: Any = json.loads(args)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"the edited arguments are not JSON: {exc.msg} at line "
                              f"{exc.lineno} column {exc.colno}") from None
        if not isinstance(edited, dict):
            raise ConfigError("the edited arguments must be a JSON object")
        req = await services.approvals.approve(request_id, session.user, edited_args=edited,
                                               comment=comment.strip() or None,
                                               version=_version(version))
    except AiosError as exc:
        return _back(request_id, error=str(exc))
    return _back(req.id, notice=f"approved with edited arguments; status {req.status}")
