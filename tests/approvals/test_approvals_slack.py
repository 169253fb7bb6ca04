"""The Slack channel: the official slack-sdk against a scripted Slack Web API on 127.0.0.1;
buttons when the dashboard is reachable, a link otherwise; Slack errors retried and recorded;
`aios users link-slack`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from approval_helpers import proposal, requirement
from channel_receivers import ScriptedSlack, dead_url
from typer.testing import CliRunner

from aios.approvals import ApprovalPolicy, ApprovalService
from aios.approvals.channels.deliveries import DeliveryLog
from aios.approvals.channels.notifier import attach_channels
from aios.approvals.chat_users import SlackUsers
from aios.auth import User
from aios.cli.main import app
from aios.settings import Settings
from aios.store import Store

ENV = {"SLACK_TOKEN": "xoxb-test-token", "SLACK_SIGNING": "signing-secret"}


@pytest.fixture
def slack() -> Iterator[ScriptedSlack]:
    s = ScriptedSlack().start()
    yield s
    s.stop()


def policy(slack: ScriptedSlack, base_url: str, **kw: Any) -> ApprovalPolicy:
    return ApprovalPolicy.model_validate({
        "links": {"base_url": base_url},
        "channels": [{"type": "slack", "channel": "C0APPROVALS", "token_env": "SLACK_TOKEN",
                      "signing_secret_env": "SLACK_SIGNING", "api_url": slack.api_url,
                      "backoff": 0.01, **kw}]})


async def test_buttons_when_the_dashboard_answers(
        service: ApprovalService, people: dict[str, User], slack: ScriptedSlack) -> None:
    sent = attach_channels(service, policy(slack, slack.base_url), env=ENV)
    assert sent is not None
    req = await service.submit(proposal(), requirement("high"))
    assert await sent.drain(20)
    [call] = slack.calls
    assert call["path"] == "/api/chat.postMessage" and call["channel"] == "C0APPROVALS"
    assert call["auth"] == "Bearer xoxb-test-token"
    elements = call["blocks"][-1]["elements"]
    assert [e["action_id"] for e in elements] == ["aios_approve", "aios_reject", "aios_open"]
    assert elements[0]["value"] == f"{req.id}:1"
    assert elements[2]["url"] == f"{slack.base_url}/approvals/{req.id}"
    assert "Will run with these effective arguments" in call["blocks"][1]["text"]["text"]
    [attempt] = await DeliveryLog(service.requests, service.audit).for_request(req.id)
    assert attempt.status == "sent" and "(buttons)" in attempt.detail


async def test_a_link_only_when_the_dashboard_is_unreachable(
        service: ApprovalService, people: dict[str, User], slack: ScriptedSlack) -> None:
    unreachable = dead_url().rsplit("/", 1)[0]
    sent = attach_channels(service, policy(slack, unreachable), env=ENV)
    assert sent is not None
    req = await service.submit(proposal(), requirement("high"))
    assert await sent.drain(20)
    elements = slack.calls[0]["blocks"][-1]["elements"]
    assert [e["action_id"] for e in elements] == ["aios_open"]
    assert elements[0]["url"] == f"{unreachable}/approvals/{req.id}"


async def test_a_slack_error_is_retried_and_recorded(
        service: ApprovalService, people: dict[str, User], slack: ScriptedSlack) -> None:
    slack.answer = {"ok": False, "error": "channel_not_found"}
    sent = attach_channels(service, policy(slack, slack.base_url, retries=1), env=ENV)
    assert sent is not None
    req = await service.submit(proposal(), requirement("high"))
    assert await sent.drain(20)
    attempts = await DeliveryLog(service.requests, service.audit).for_request(req.id)
    assert [(a.attempt, a.status) for a in attempts] == [(1, "retrying"), (2, "failed")]
    assert all("channel_not_found" in a.detail for a in attempts)


async def test_linking_slack_users(store: Store, people: dict[str, User]) -> None:
    links = SlackUsers(store)
    assert await links.user_of("U0ALICE") is None
    await links.link("alice", "U0ALICE")
    found = await links.user_of("U0ALICE")
    assert found is not None and found.name == "alice"
    await links.link("bob", "U0ALICE")  # re-linked
    again = await links.user_of("U0ALICE")
    assert again is not None and again.name == "bob"


def test_link_slack_command(tmp_path: Any) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["users", "add", "alice", "--role", "approver"]).exit_code == 0
    done = runner.invoke(app, ["users", "link-slack", "alice", "U0123ABCD", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"name": "alice", "slack_id": "U0123ABCD"}
    bad = runner.invoke(app, ["users", "link-slack", "alice", "alice@example.test"])
    assert bad.exit_code == 2 and "is not a Slack user id" in bad.output
    nobody = runner.invoke(app, ["users", "link-slack", "zed", "U0123ABCD"])
    assert nobody.exit_code == 2 and "no user 'zed'" in nobody.output

    async def check() -> str | None:
        store = await Store.open(Settings().store_url())
        try:
            user = await SlackUsers(store).user_of("U0123ABCD")
            return user.name if user else None
        finally:
            await store.close()

    assert asyncio.run(check()) == "alice"
