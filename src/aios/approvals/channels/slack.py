"""The `slack` channel: `chat.postMessage` through the official `slack-sdk`.

Buttons (Approve / Reject) are sent when Slack can reach Ai:oS to deliver the click: with
`buttons: auto`, when the dashboard at `links.base_url` answers `/healthz`; otherwise the
message carries a link to the request's page. The click arrives at `POST /api/slack/actions`
(`aios.server.slack_api`), signed by Slack; only a Slack user linked to an Ai:oS user
(`aios users link-slack`) can decide, under the same rules as everywhere else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from aios.approvals.channels.base import Notice, Receipt, channel, required_env
from aios.approvals.channels.spec import SlackChannel
from aios.errors import DeliveryError

__all__ = ["APPROVE", "REJECT", "Slack", "blocks_of"]

#: The `action_id`s of the buttons.
APPROVE, REJECT = "aios_approve", "aios_reject"


def blocks_of(notice: Notice, *, buttons: bool) -> list[dict[str, Any]]:
    """The Block Kit blocks of a notice: its text, then buttons or a link."""
    text = notice.text if len(notice.text) < 2900 else notice.text[:2900] + "..."
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{notice.headline}*"}},
        {"type": "section", "text": {"type": "plain_text", "text": text}}]
    elements: list[dict[str, Any]] = []
    if buttons and notice.event in ("created", "escalated") and notice.recipients:
        version = str(notice.request.get("version", ""))
        elements += [
            {"type": "button", "action_id": APPROVE, "style": "primary",
             "text": {"type": "plain_text", "text": "Approve"},
             "value": f"{notice.request_id}:{version}"},
            {"type": "button", "action_id": REJECT, "style": "danger",
             "text": {"type": "plain_text", "text": "Reject"},
             "value": f"{notice.request_id}:{version}"}]
    elements.append({"type": "button", "action_id": "aios_open", "url": notice.link,
                     "text": {"type": "plain_text", "text": "Open in Ai:oS"}})
    blocks.append({"type": "actions", "elements": elements})
    return blocks


@channel("slack")
class Slack:
    """Post each notice to `spec.channel`."""

    def __init__(self, spec: SlackChannel, name: str, env: Mapping[str, str]):
        self.spec = spec
        self.name = name
        where = f"approvals.channels ({name})"
        token = required_env(env, spec.token_env, f"{where} token_env")
        self._signing = required_env(env, spec.signing_secret_env,
                                     f"{where} signing_secret_env")
        from slack_sdk import WebClient

        self._client = WebClient(token=token, base_url=spec.api_url,
                                 timeout=max(1, int(spec.timeout)))

    async def _buttons(self, link: str) -> bool:
        if self.spec.buttons == "never" or self._signing is None:
            return False
        if self.spec.buttons == "always":
            return True
        parts = urlsplit(link)
        try:
            async with httpx.AsyncClient(timeout=1.0) as client:
                answer = await client.get(f"{parts.scheme}://{parts.netloc}/healthz")
            return answer.is_success
        except httpx.HTTPError:
            return False

    async def deliver(self, notice: Notice) -> Receipt:
        """`chat.postMessage`; an error answer or an unreachable API raises DeliveryError."""
        from slack_sdk.errors import SlackApiError, SlackClientError

        buttons = await self._buttons(notice.link)
        blocks = blocks_of(notice, buttons=buttons)
        try:
            answer = await asyncio.to_thread(
                self._client.chat_postMessage, channel=self.spec.channel,
                text=notice.headline, blocks=blocks)
        except SlackApiError as exc:
            raise DeliveryError(f"Slack refused the message: "
                                f"{exc.response.get('error', exc)}") from exc
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(f"Slack API {self.spec.api_url}: {type(exc).__name__}: "
                                f"{exc}") from exc
        kind = "buttons" if buttons and len(blocks[-1]["elements"]) > 1 else "link"
        return Receipt(f"posted ts={answer.get('ts')} ({kind})", self.spec.channel)
