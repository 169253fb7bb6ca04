"""Slack button clicks (`POST /api/slack/actions`): signed by Slack, decided as the linked
Ai:oS user under the usual rules; an unlinked Slack user, a bad signature or the requester
cannot decide."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from server_helpers import add_people, bearer

from aios.approvals import ActionFacts, ApprovalPolicy, ApprovalService, Proposal
from aios.approvals.chat_users import SlackUsers
from aios.server import create_app
from aios.settings import Settings
from aios.store import Store

SECRET = "slack-signing-secret"


@pytest.fixture
def slack_client(settings: Settings, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str]]]:
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING", SECRET)
    path = tmp_path / "manifest.yaml"
    path.write_text(json.dumps({"name": "slack-test", "approvals": {"channels": [
        {"type": "slack", "channel": "C0APPROVALS", "token_env": "SLACK_TOKEN",
         "signing_secret_env": "SLACK_SIGNING", "api_url": "http://127.0.0.1:9/api/",
         "events": ["approved"], "retries": 0}]}}))
    tokens = add_people(settings)
    app = create_app(settings, manifest=path, resume_interval=0, expiry_interval=0)
    with TestClient(app) as client:
        yield client, tokens


def run(settings: Settings, fn: Any) -> Any:
    async def go() -> Any:
        store = await Store.open(settings.store_url())
        try:
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(go())


def file_request(settings: Settings, requester: str = "ops") -> str:
    async def go(store: Store) -> str:
        need = ApprovalPolicy().evaluate(ActionFacts("storage.wipe", "critical", True))
        return (await ApprovalService(store).submit(Proposal(
            run_id="r1", step_id="s1", action="storage.wipe", args={"path": "/srv"},
            requester=requester, reason="disk full"), need)).id

    return run(settings, go)


def click(client: TestClient, slack_id: str, action: str, value: str, *,
          secret: str = SECRET, age: float = 0) -> Any:
    payload = {"type": "block_actions", "user": {"id": slack_id},
               "actions": [{"action_id": action, "value": value}]}
    body = urlencode({"payload": json.dumps(payload)})
    stamp = str(int(time.time() - age))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(),
                                 hashlib.sha256).hexdigest()
    return client.post("/api/slack/actions", content=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature})


def test_a_linked_slack_user_decides_and_others_cannot(
        slack_client: tuple[TestClient, dict[str, str]], settings: Settings) -> None:
    client, tokens = slack_client
    request_id = file_request(settings)

    def state() -> Any:
        return client.get(f"/api/approvals/{request_id}", headers=bearer(tokens["vic"])).json()

    unlinked = click(client, "U0NOBODY", "aios_approve", f"{request_id}:1")
    assert unlinked.status_code == 200
    assert "not linked to an Ai:oS user" in unlinked.json()["text"]
    assert state()["decisions"] == []
    forged = click(client, "U0ALICE", "aios_approve", f"{request_id}:1", secret="wrong")
    assert forged.status_code == 401
    stale = click(client, "U0ALICE", "aios_approve", f"{request_id}:1", age=3600)
    assert stale.status_code == 401
    assert state()["decisions"] == []

    run(settings, lambda s: SlackUsers(s).link("alice", "U0ALICE"))
    run(settings, lambda s: SlackUsers(s).link("vic", "U0VIC"))
    viewer = click(client, "U0VIC", "aios_approve", f"{request_id}:1")
    assert "Not recorded" in viewer.json()["text"] and "viewer" in viewer.json()["text"]
    done = click(client, "U0ALICE", "aios_approve", f"{request_id}:1")
    assert "Recorded as alice" in done.json()["text"] and "1/2 approvals" in done.json()["text"]
    twice = click(client, "U0ALICE", "aios_approve", f"{request_id}:2")
    assert "already approved" in twice.json()["text"]  # the two-person rule holds
    after = state()
    assert after["approvers"] == ["alice"] and after["status"] == "pending"


def test_the_requester_cannot_approve_from_slack(
        slack_client: tuple[TestClient, dict[str, str]], settings: Settings) -> None:
    client, tokens = slack_client
    request_id = file_request(settings, requester="bob")
    run(settings, lambda s: SlackUsers(s).link("bob", "U0BOB"))
    answer = click(client, "U0BOB", "aios_approve", f"{request_id}:1")
    assert "Not recorded" in answer.json()["text"] and "separation" in answer.json()["text"]
    rejected = click(client, "U0BOB", "aios_reject", f"{request_id}:1")
    assert "rejected" in rejected.json()["text"]
    got = client.get(f"/api/approvals/{request_id}", headers=bearer(tokens["vic"])).json()
    assert got["status"] == "rejected" and "rejected in Slack by bob" in \
        got["decisions"][0]["reason"]
