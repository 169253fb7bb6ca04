"""The `apprise` channel against a real local HTTP receiver (Apprise's `json://` service):
delivered, recorded and audited; a receiver answering 500 or down is retried (bounded); bad
URLs and a missing variable fail at start, naming the variable and never the URL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from approval_helpers import proposal, requirement
from channel_receivers import Receiver, dead_url

from aios.approvals import ApprovalPolicy, ApprovalService
from aios.approvals.channels.base import build_channel
from aios.approvals.channels.deliveries import DeliveryLog
from aios.approvals.channels.notifier import Notifier, attach_channels
from aios.auth import User
from aios.errors import ConfigError, ManifestError
from aios.manifest.loader import load_manifest

TOKEN = "ghp_R7sKq2ZxW9mNv4LpT8cYb3HdJ6fGa1Ue5Qo0"


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


def policy(**entry: Any) -> ApprovalPolicy:
    return ApprovalPolicy.model_validate({
        "channels": [{"type": "apprise", "urls_env": "APPRISE_URLS", "retries": 2,
                      "backoff": 0.01, "timeout": 10.0, **entry}],
        "links": {"base_url": "https://aios.example.test"}})


def notifier(service: ApprovalService, urls: str, **entry: Any) -> Notifier:
    pol = policy(**entry)
    built = [build_channel(spec, i, {"APPRISE_URLS": urls})
             for i, spec in enumerate(pol.channels)]
    made = Notifier(service, built, links=pol.links, sleep=no_sleep)
    service.listeners.append(made)
    return made


def as_apprise(url: str) -> str:
    return url.replace("http://", "json://", 1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


async def deliveries(service: ApprovalService, request_id: str) -> list[dict[str, Any]]:
    log = DeliveryLog(service.requests, service.audit)
    return [d.to_json() for d in await log.for_request(request_id)]


async def test_a_request_reaches_the_receiver_through_apprise_masked_and_recorded(
        service: ApprovalService, people: dict[str, User], receiver: Receiver) -> None:
    sent = notifier(service, f"{as_apprise(receiver.url)}, ")
    req = await service.submit(proposal(args={"path": "/srv/a", "note": f"use {TOKEN}"}),
                               requirement("critical"))
    assert await sent.drain(20)
    [hit] = receiver.hits
    body = hit.json
    assert body["title"].startswith("[Ai:oS] approval needed:")
    assert f"https://aios.example.test/approvals/{req.id}" in body["message"]
    assert "/srv/a" in body["message"] and TOKEN not in body["message"]
    [attempt] = await deliveries(service, req.id)
    assert attempt["status"] == "sent" and attempt["detail"] == "1 service(s) accepted"
    assert attempt["target"].startswith("JSON ") and "127.0.0.1" not in attempt["target"]
    kinds = [r.kind async for r in service.audit.records(request_id=req.id)]
    assert kinds == ["request.created", "delivery.sent"]


@pytest.mark.parametrize("mode", ["fail", "down"])
async def test_a_failing_service_is_retried_a_bounded_number_of_times(
        service: ApprovalService, people: dict[str, User], receiver: Receiver,
        mode: str) -> None:
    receiver.mode = mode
    url = dead_url() if mode == "down" else receiver.url
    sent = notifier(service, as_apprise(url))
    req = await service.submit(proposal(), requirement("high"))
    assert await sent.drain(30)
    attempts = await deliveries(service, req.id)
    assert [(a["attempt"], a["status"]) for a in attempts] == [
        (1, "retrying"), (2, "retrying"), (3, "failed")]
    assert all("1 of 1 service(s) did not accept" in a["detail"] for a in attempts), attempts
    assert len(receiver.hits) == (0 if mode == "down" else 3)
    assert (await service.get(req.id)).status == "pending"


def test_bad_urls_and_a_missing_variable_fail_at_start_without_showing_the_url(
        service: ApprovalService) -> None:
    with pytest.raises(ConfigError, match="APPRISE_URLS is not set"):
        attach_channels(service, policy(), env={})
    with pytest.raises(ConfigError, match="holds no URL"):
        attach_channels(service, policy(), env={"APPRISE_URLS": " , "})
    secret_url = "nosuchservice://s3cr3t-token@host"
    with pytest.raises(ConfigError, match=r"URL 2 of 2 in APPRISE_URLS \(nosuchservice://") \
            as caught:
        attach_channels(service, policy(), env={"APPRISE_URLS": f"json://x/y {secret_url}"})
    assert "s3cr3t-token" not in str(caught.value)


def test_an_apprise_entry_without_urls_env_fails_at_load_naming_the_line(
        tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("name: t\napprovals:\n  channels:\n    - {type: apprise}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert "urls_env" in str(caught.value) and f"{path.name}:4" in str(caught.value)
