"""The message about a request: what will run with which effective arguments, why, the risks.

One `Notice` per event serves every channel; each renders it (JSON for webhooks, text for
e-mail). Recipients are the users who may decide the request now (for an escalation: the
next group), never its requester and never someone whose approval already counts.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence

from aios.approvals.channels.base import Notice
from aios.approvals.channels.masking import ARG_FIELDS, Masking, mask_value
from aios.approvals.requests import ApprovalRequest
from aios.auth.users import Role, User

__all__ = ["LinkMaker", "build_notice", "deciders"]

#: (request, user name) -> that user's one-click link.
LinkMaker = Callable[[ApprovalRequest, str], Awaitable[str]]

_HEADLINES = {
    "created": "approval needed: {action} ({criticality})",
    "escalated": "escalated to {group}: {action} ({criticality})",
    "expired": "expired without a decision: {action}",
    "approved": "approved: {action}",
    "rejected": "rejected: {action}",
    "withdrawn": "withdrawn (run cancelled): {action}",
}


def deciders(req: ApprovalRequest, users: Sequence[User]) -> list[str]:
    """Users who may decide `req` now: approver role, in its current group, not the
    requester, not already counted."""
    counted = set(req.approvers())
    return sorted(u.name for u in users
                  if not u.disabled and u.role.allows(Role.approver)
                  and req.group.admits(u.name, u.role.value)
                  and u.name != req.requester and u.name not in counted)


def _args_lines(req: ApprovalRequest, mask: Masking | None) -> list[str]:
    rows = req.effective.rows()
    if not rows:
        return ["  (no arguments)"]
    if mask is not None:
        rows = [(path, mask_value(value, mask, path.rsplit(".", 1)[-1]), default)
                for path, value, default in rows]
    return [f"  {path} = {json.dumps(value, sort_keys=True)}"
            f"{'  (default: not given, from the action schema)' if default else ''}"
            for path, value, default in rows]


def _status_line(event: str, req: ApprovalRequest, actor: str) -> str:
    approvals = f"{len(req.approvers())} of {req.required_approvals} approvals"
    if event in ("created", "escalated"):
        if req.status == "approved":  # notify mode: ran at once, recorded for review
            return "Status: approved at once by the policy (notify); recorded for review."
        deadline = (f", deadline {req.deadline:%Y-%m-%d %H:%M} UTC"
                    if req.deadline else "")
        return f"Needs: {approvals} from group {req.group.group!r}{deadline}."
    if event == "rejected":
        rej = req.rejection()
        return f"Rejected by {actor}: {rej.reason if rej else ''}"
    if event == "approved":
        return f"Approved ({approvals}: {', '.join(req.approvers()) or actor})."
    if event == "withdrawn":
        return f"Withdrawn: {(req.outcome or {}).get('reason') or 'the run was cancelled'}."
    return f"Expired with {approvals}; the action will not run."


async def build_notice(event: str, req: ApprovalRequest, actor: str, *, base_url: str,
                       users: Sequence[User] = (), make_link: LinkMaker | None = None,
                       mask: Masking | None = None) -> Notice:
    """The notice of `event` on `req` (as stored after the event); with `mask`, secrets and
    personal data in the arguments and the reason are masked (`channels.masking`)."""
    link = f"{base_url}/approvals/{req.id}"
    recipients = (deciders(req, users) if event in ("created", "escalated") and req.decidable
                  else [])
    links: Mapping[str, str] = {}
    if make_link is not None and recipients:
        links = {name: await make_link(req, name) for name in recipients}
    headline = _HEADLINES.get(event, "{action}: " + event).format(
        action=req.action, criticality=req.criticality, group=req.group.group)
    lines = [
        headline, "",
        f"Action: {req.action} (criticality {req.criticality}), step {req.step_id} of run "
        f"{req.run_id}",
        "Will run with these effective arguments:", *_args_lines(req, mask),
        f"Why: {(mask or str)(req.reason) or 'no reason given'}",
        f"Risks: {'; '.join(req.risks) or 'none stated'}",
    ]
    if req.preview is not None:
        shown = req.preview.get("error") or json.dumps(
            mask_value(req.preview.get("output"), mask) if mask else req.preview.get("output"),
            sort_keys=True, default=str)
        lines.append(f"Preview ({req.preview.get('handler')}): {shown[:1500]}")
    if req.confidence is not None:
        lines.append(f"Agent's stated confidence: {req.confidence:.2f}")
    lines += [f"Requested by: {req.requester}", _status_line(event, req, actor),
              f"Open it: {link}"]
    request = req.to_json()
    if mask is not None:
        for name in ARG_FIELDS:
            request[name] = mask_value(request[name], mask)
        request["reason"] = mask(req.reason)
        if req.preview is not None:
            request["preview"] = mask_value(req.preview, mask)
    return Notice(event=event, request=request, headline=headline,
                  text="\n".join(lines) + "\n", link=link, actor=actor,
                  recipients=tuple(recipients), links=links)
