"""`POST /api/slack/actions`: Approve / Reject clicks from Slack messages.

Slack signs each request with the app's signing secret (`X-Slack-Signature`, checked with
`slack_sdk.signature.SignatureVerifier`, which also refuses stale timestamps). The clicking
Slack user must be linked to an Ai:oS user (`aios users link-slack NAME SLACK_ID`); the
decision is then made as that user through the same `ApprovalService` as the dashboard, so
roles, approver groups, separation of duties and distinct approvers all apply. The answer is
a message only the clicking user sees.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from aios.approvals.channels.slack import APPROVE, REJECT
from aios.approvals.channels.spec import SlackChannel
from aios.approvals.chat_users import SlackUsers
from aios.errors import AiosError, AuthenticationError
from aios.server.auth import ServicesDep

__all__ = ["router"]

router = APIRouter(prefix="/api/slack", tags=["slack"])


def _secret(services: Any) -> str:
    for spec in services.runtime.manifest.approvals.channels:
        if isinstance(spec, SlackChannel) and spec.signing_secret_env:
            value = os.environ.get(spec.signing_secret_env)
            if value:
                return value
    raise AuthenticationError("no Slack request can be verified: no Slack channel with a "
                              "signing secret is configured (approvals.channels: {type: "
                              "slack, signing_secret_env: ...})")


def _reply(text: str) -> JSONResponse:
    return JSONResponse({"response_type": "ephemeral", "replace_original": False,
                         "text": text})


@router.post("/actions", summary="Slack interactivity (button clicks)")
async def actions(request: Request, services: ServicesDep) -> JSONResponse:
    """Decide a request from a Slack button, as the Ai:oS user linked to the clicker."""
    from slack_sdk.signature import SignatureVerifier

    body = await request.body()
    verifier = SignatureVerifier(_secret(services))
    if not verifier.is_valid(body, request.headers.get("X-Slack-Request-Timestamp"),
                             request.headers.get("X-Slack-Signature")):
        raise AuthenticationError("the Slack signature does not match (or is too old)")
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
        slack_id = str(payload["user"]["id"])
        action = payload["actions"][0]
        action_id = str(action["action_id"])
        request_id, _, version = str(action.get("value", "")).partition(":")
    except (KeyError, IndexError, ValueError, TypeError):
        return _reply("Ai:oS could not read this Slack action.")
    if action_id not in (APPROVE, REJECT):
        return _reply("Nothing to do for this button.")
    user = await SlackUsers(services.store).user_of(slack_id)
    if user is None:
        return _reply(f"Your Slack user {slack_id} is not linked to an Ai:oS user, so you "
                      f"cannot decide here; an admin links it: aios users link-slack NAME "
                      f"{slack_id}")
    pinned = int(version) if version.isdigit() else None
    try:
        if action_id == APPROVE:
            req = await services.approvals.approve(request_id, user, version=pinned,
                                                   comment="approved in Slack")
        else:
            req = await services.approvals.reject(
                request_id, user, version=pinned,
                reason=f"rejected in Slack by {user.name} (no reason given there)")
    except AiosError as exc:
        return _reply(f"Not recorded: {exc}")
    return _reply(f"Recorded as {user.name}: request {req.id[:12]} ({req.action}) is now "
                  f"{req.status} ({len(req.approvers())}/{req.required_approvals} approvals).")
