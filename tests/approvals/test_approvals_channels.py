"""Channels: each request event reaches a real webhook receiver (signature checked) and a real
SMTP inbox; endpoints that are down, slow or answer 500 are retried (bounded), recorded,
audited and counted; delivery never holds up the caller that filed the request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from approval_helpers import Clock, proposal, requirement
from channel_receivers import Inbox, Receiver, body_text, dead_url, start_smtp
from prometheus_client.parser import text_string_to_metric_families

from aios.approvals import ApprovalPolicy, ApprovalService
from aios.approvals.channels.base import build_channel
from aios.approvals.channels.deliveries import DeliveryLog
from aios.approvals.channels.notifier import Notifier, attach_channels
from aios.approvals.gauges import approval_gauges
from aios.auth import User
from aios.errors import ConfigError, ManifestError
from aios.manifest.loader import load_manifest
from aios.observability.prometheus import prometheus_text
from aios.store import Store

SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "path": {"type": "string"},
    "target": {"type": "string", "default": "/var/lib/app/cache"}}}
ENV = {"HOOK_SECRET": "s3cret-hook-key"}


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


def policy(*channels: dict[str, Any]) -> ApprovalPolicy:
    return ApprovalPolicy.model_validate({
        "channels": list(channels), "links": {"base_url": "https://aios.example.test"}})


def notifier(service: ApprovalService, *channels: dict[str, Any],
             env: dict[str, str] | None = None) -> Notifier:
    pol = policy(*channels)
    built = [build_channel(spec, i, env or ENV) for i, spec in enumerate(pol.channels)]
    made = Notifier(service, built, links=pol.links, sleep=no_sleep)
    service.listeners.append(made)
    return made


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, int]]:
    inbox = Inbox()
    server, port = await start_smtp(inbox)
    yield inbox, port
    server.close()
    await server.wait_closed()


def hook(url: str, **kw: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": url, "secret_env": "HOOK_SECRET", "retries": 2,
            "backoff": 0.01, "timeout": 5.0, **kw}


async def deliveries(service: ApprovalService, request_id: str) -> list[dict[str, Any]]:
    log = DeliveryLog(service.requests, service.audit)
    return [d.to_json() for d in await log.for_request(request_id)]


async def test_a_critical_request_reaches_the_webhook_signed_with_effective_arguments(
        service: ApprovalService, people: dict[str, User], receiver: Receiver) -> None:
    sent = notifier(service, hook(receiver.url))
    req = await service.submit(proposal(args={"path": "/srv/a"}, input_schema=SCHEMA),
                               requirement("critical"))
    assert await sent.drain(10)
    [hit] = receiver.hits
    assert hit.signature_ok and hit.headers["X-Aios-Event"] == "created"
    body = hit.json
    assert body["event"] == "created" and body["request"]["id"] == req.id
    assert body["request"]["effective_args"] == {"path": "/srv/a",
                                                 "target": "/var/lib/app/cache"}
    assert body["request"]["defaults"] == ["target"]
    assert 'target = "/var/lib/app/cache"  (default' in body["text"]
    assert "Why: disk full" in body["text"] and "Risks:" in body["text"]
    assert body["link"] == f"https://aios.example.test/approvals/{req.id}"
    # Two approvers needed from `approvers`; the requester (ops) and the viewer are not told.
    assert body["recipients"] == ["ada", "alice", "bob", "carol"]
    [attempt] = await deliveries(service, req.id)
    assert attempt["status"] == "sent" and attempt["detail"] == "HTTP 200"
    kinds = [r.kind async for r in service.audit.records(request_id=req.id)]
    assert kinds == ["request.created", "delivery.sent"]
    assert (await service.audit.verify()).ok


async def test_a_tampered_body_fails_the_receivers_signature_check(receiver: Receiver) -> None:
    from aios.approvals.channels.webhook import sign

    body = b'{"event":"created"}'
    good = sign(receiver.secret, "1700000000", body)
    headers = {"X-Aios-Timestamp": "1700000000", "X-Aios-Signature": good}
    assert receiver.verify(headers, body)
    assert not receiver.verify(headers, body.replace(b"created", b"approved"))
    assert not receiver.verify({**headers, "X-Aios-Timestamp": "1700000001"}, body)


async def test_each_event_of_a_request_is_delivered(
        service: ApprovalService, people: dict[str, User], receiver: Receiver,
        clock: Clock) -> None:
    sent = notifier(service, hook(receiver.url))
    high = await service.submit(proposal(step_id="h"), requirement("high"))
    await service.approve(high.id, people["alice"])
    rejected = await service.submit(proposal(step_id="r"), requirement("high"))
    await service.reject(rejected.id, people["bob"], reason="not now")
    crit = await service.submit(proposal(step_id="c"), requirement("critical"))
    clock.advance(hours=5)  # past the critical deadline: escalates to admins
    await service.expire_due()
    clock.advance(hours=5)  # past the admins' deadline: expires
    await service.expire_due()
    assert await sent.drain(30)
    # A retry after a slow answer repeats a delivery id: receivers deduplicate on it.
    unique = {h.headers["X-Aios-Delivery"]: h for h in receiver.hits}.values()
    events = sorted((h.json["request"]["id"], h.json["event"]) for h in unique)
    assert events == sorted([(high.id, "created"), (high.id, "approved"),
                             (rejected.id, "created"), (rejected.id, "rejected"),
                             (crit.id, "created"), (crit.id, "escalated"),
                             (crit.id, "expired")])
    escalated = next(h.json for h in receiver.hits if h.json["event"] == "escalated")
    assert escalated["recipients"] == ["ada"]  # the next group (admins) only
    assert "escalated to admins" in escalated["headline"]
    rejection = next(h.json for h in receiver.hits if h.json["event"] == "rejected")
    assert "Rejected by bob: not now" in rejection["text"]
    assert all(h.signature_ok for h in receiver.hits)


async def test_a_channel_filters_events_and_criticality(
        service: ApprovalService, people: dict[str, User], receiver: Receiver) -> None:
    sent = notifier(service, hook(receiver.url, events=["created"],
                                  min_criticality="critical"))
    high = await service.submit(proposal(step_id="h"), requirement("high"))
    await service.approve(high.id, people["alice"])
    crit = await service.submit(proposal(step_id="c"), requirement("critical"))
    await service.approve(crit.id, people["alice"])
    assert await sent.drain(10)
    assert [(h.json["request"]["id"], h.json["event"]) for h in receiver.hits] == [
        (crit.id, "created")]


async def test_the_smtp_inbox_gets_the_message(
        service: ApprovalService, people: dict[str, User],
        smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    sent = notifier(service, {"type": "email", "host": "127.0.0.1", "port": port,
                              "from": "aios@example.test", "to": ["ops@example.test"]})
    req = await service.submit(proposal(args={}, input_schema=SCHEMA), requirement("high"))
    assert await sent.drain(10)
    [message] = inbox.messages
    assert message["Subject"] == "[Ai:oS] approval needed: storage.wipe (high)"
    assert message["To"] == "ops@example.test" and message["X-Aios-Request"] == req.id
    text = body_text(message)
    assert 'target = "/var/lib/app/cache"  (default' in text
    assert f"Open it: https://aios.example.test/approvals/{req.id}" in text
    [attempt] = await deliveries(service, req.id)
    assert attempt["status"] == "sent" and attempt["target"] == "ops@example.test"


@pytest.mark.parametrize("mode", ["down", "fail", "slow"])
async def test_a_failing_endpoint_is_retried_a_bounded_number_of_times_and_counted(
        service: ApprovalService, store: Store, people: dict[str, User], receiver: Receiver,
        mode: str) -> None:
    receiver.mode, receiver.delay = mode, 2.0
    url = dead_url() if mode == "down" else receiver.url
    timeout = 0.5 if mode == "slow" else 5.0
    sent = notifier(service, hook(url, retries=2, timeout=timeout, name="pager"))
    req = await service.submit(proposal(), requirement("high"))
    assert await sent.drain(30)
    attempts = await deliveries(service, req.id)
    assert [(a["attempt"], a["status"]) for a in attempts] == [
        (1, "retrying"), (2, "retrying"), (3, "failed")]
    expected = {"down": "ConnectError", "fail": "answered HTTP 500",
                "slow": "no answer within 0.5s"}[mode]
    assert all(expected in a["detail"] for a in attempts), attempts
    if mode == "slow":  # under load an attempt may time out before it even connects
        assert 1 <= len(receiver.hits) <= 3
    else:
        assert len(receiver.hits) == (0 if mode == "down" else 3)
    kinds = [r.kind async for r in service.audit.records(request_id=req.id)]
    assert kinds == ["request.created", "delivery.retrying", "delivery.retrying",
                     "delivery.failed"]
    text = await prometheus_text(store, gauges=(approval_gauges,))
    got = {(s.name, tuple(s.labels.items())): s.value
           for f in text_string_to_metric_families(text) for s in f.samples}
    assert got[("aios_approval_delivery_failures", (("channel", "pager"),))] == 1.0
    assert got[("aios_approval_delivery_errors", (("channel", "pager"),))] == 2.0
    # The request itself is untouched by the failed deliveries.
    assert (await service.get(req.id)).status == "pending"


async def test_delivery_does_not_hold_up_the_caller(
        service: ApprovalService, people: dict[str, User], receiver: Receiver) -> None:
    receiver.mode, receiver.delay = "slow", 2.0
    sent = notifier(service, hook(receiver.url, retries=0, timeout=5.0))
    req = await service.submit(proposal(), requirement("high"))
    # submit returned while the receiver still holds the POST: nothing is recorded yet.
    assert sent.pending == 1
    assert await deliveries(service, req.id) == []
    assert await asyncio.to_thread(receiver.got.wait, 10)
    assert await sent.drain(10)
    assert [a["status"] for a in await deliveries(service, req.id)] == ["sent"]


async def test_closing_abandons_what_is_still_running_and_records_it(
        service: ApprovalService, people: dict[str, User], receiver: Receiver) -> None:
    receiver.mode, receiver.delay = "slow", 3.0
    sent = notifier(service, hook(receiver.url, retries=0, timeout=10.0))
    req = await service.submit(proposal(), requirement("high"))
    await asyncio.to_thread(receiver.got.wait, 10)
    await sent.aclose(grace=0.05)
    [attempt] = await deliveries(service, req.id)
    assert attempt["status"] == "failed" and "abandoned" in attempt["detail"]


async def test_a_missing_secret_is_a_clear_error(service: ApprovalService) -> None:
    with pytest.raises(ConfigError, match="HOOK_SECRET is not set"):
        attach_channels(service, policy(hook("http://127.0.0.1:9/x")), env={})
    assert attach_channels(service, ApprovalPolicy(), env={}) is None


BAD_CHANNELS = [
    ("{type: pigeon, url: 'http://x'}", "pigeon"),
    ("{type: webhook, url: 'ftp://x/y'}", "not an http(s) URL"),
    ("{type: webhook, url: 'http://x/y', secret_env: 'abc def!'}", "environment variable name"),
    ("{type: email, from: nobody, to: [ops@example.test]}", "not an e-mail address"),
    ("{type: webhook, url: 'http://x/y', retries: 99}", "retries"),
]


@pytest.mark.parametrize(("entry", "message"), BAD_CHANNELS)
def test_bad_channel_entries_fail_at_load_naming_the_line(tmp_path: Path, entry: str,
                                                          message: str) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("name: t\napprovals:\n  channels:\n    - {type: webhook, url: "
                    f"'http://127.0.0.1/ok'}}\n    - {entry}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    text = str(caught.value)
    assert message in text and f"{path.name}:5" in text, text


def test_every_url_setting_needs_http_and_keeps_its_own_form() -> None:
    from pydantic import ValidationError

    from aios.approvals.channels.spec import LinkPolicy, SlackChannel, WebhookChannel

    with pytest.raises(ValidationError, match=r"'ftp://x' is not an http\(s\) URL, for "
                                              r"example https://hooks\.example\.com/aios"):
        WebhookChannel(type="webhook", url="ftp://x")
    with pytest.raises(ValidationError, match=r"'slack\.com/api' is not an http\(s\) URL \["):
        SlackChannel(type="slack", channel="#ops", token_env="T", api_url="slack.com/api")
    with pytest.raises(ValidationError, match=r"'https://' is not an http\(s\) URL, for "
                                              r"example https://aios\.example\.com"):
        LinkPolicy(base_url="https://")
    assert WebhookChannel(type="webhook", url="http://h/x/").url == "http://h/x/"
    assert SlackChannel(type="slack", channel="#ops", token_env="T",
                        api_url="http://h/api").api_url == "http://h/api/"
    assert LinkPolicy(base_url="https://aios.test/").base_url == "https://aios.test"


def test_a_good_channel_section_loads(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(json.dumps({"approvals": {"channels": [
        {"type": "webhook", "url": "https://hooks.example.test/aios", "secret_env": "HOOK"},
        {"type": "email", "from": "aios@example.test", "to": ["ops@example.test"],
         "users": {"alice": "alice@example.test"}}]}}))
    loaded = load_manifest(path)
    assert [c.type for c in loaded.approvals.channels] == ["webhook", "email"]


async def test_each_deciding_user_gets_a_personal_one_click_link_by_mail(
        service: ApprovalService, store: Store, people: dict[str, User],
        smtp: tuple[Inbox, int]) -> None:
    from aios.approvals.links import LinkSigner

    inbox, port = smtp
    pol = policy({"type": "email", "host": "127.0.0.1", "port": port,
                  "from": "aios@example.test",
                  "users": {"alice": "alice@example.test", "vic": "vic@example.test",
                            "ops": "ops@example.test"}})
    sent = attach_channels(service, pol, env={})
    assert sent is not None
    req = await service.submit(proposal(requester="ops"), requirement("high"))
    assert await sent.drain(10)
    # Only alice may decide: vic is a viewer, ops filed the request.
    [message] = inbox.messages
    assert message["To"] == "alice@example.test"
    link = next(line for line in body_text(message).splitlines()
                if line.startswith("https://aios.example.test/approvals/link/"))
    claim = await LinkSigner(store, pol.links, env={}).redeem(link.rsplit("/", 1)[1],
                                                              people["alice"])
    assert claim.request_id == req.id and claim.user == "alice"


async def test_secrets_and_personal_data_in_arguments_never_leave_through_a_channel(
        service: ApprovalService, people: dict[str, User], receiver: Receiver,
        smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    sent = notifier(service, hook(receiver.url),
                    {"type": "email", "host": "127.0.0.1", "port": port,
                     "from": "aios@example.test", "to": ["ops@example.test"]})
    secret_args = {"path": "/srv/a", "password": "hunter2",
                   "header": "Authorization: Bearer ghp_1234567890abcdefghijABCDEFGHIJ123456",
                   "notify": "carol.smith@example.org", "card": "4111 1111 1111 1111"}
    req = await service.submit(proposal(args=secret_args, input_schema=SCHEMA),
                               requirement("high"))
    assert await sent.drain(20)
    outgoing = [receiver.hits[0].body.decode(), body_text(inbox.messages[0])]
    for text in outgoing:
        for value in ("hunter2", "ghp_1234567890abcdefghij", "carol.smith@example.org",
                      "4111 1111 1111 1111"):
            assert value not in text, (value, text)
        assert "/srv/a" in text and "<SECRET>" in text and "<EMAIL>" in text
    body = receiver.hits[0].json
    assert body["request"]["effective_args"]["password"] == "<SECRET>"
    assert body["request"]["effective_args"]["target"] == "/var/lib/app/cache"
    # The request itself keeps the real values: execution needs them.
    assert (await service.get(req.id)).args["password"] == "hunter2"
