"""One-click links: they open the decision page after log-in and never decide on a GET; a
tampered, expired or reused link, or one used by another user, is refused; separation of
duties and the two-person rule still hold for whoever arrives through a link."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from fastapi.testclient import TestClient
from server_helpers import bearer, login

from aios.approvals import ActionFacts, ApprovalPolicy, ApprovalService, Proposal
from aios.approvals.links import LinkSigner
from aios.settings import Settings
from aios.store import Store

T = TypeVar("T")


def with_store(settings: Settings, fn: Callable[[Store], Coroutine[Any, Any, T]]) -> T:
    async def go() -> T:
        store = await Store.open(settings.store_url())
        try:
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(go())


def file_request(settings: Settings, level: str = "critical") -> str:
    async def go(store: Store) -> str:
        facts = ActionFacts("storage.wipe", level, True)  # type: ignore[arg-type]
        need = ApprovalPolicy().evaluate(facts)
        return (await ApprovalService(store).submit(Proposal(
            run_id="r1", step_id="s1", action="storage.wipe", args={"path": "/srv"},
            requester="ops", reason="disk full"), need)).id

    return with_store(settings, go)


def issue(settings: Settings, request_id: str, user: str, *, ago: float = 0) -> str:
    """A link for `user` (issued `ago` seconds in the past); its local path."""
    def clock() -> datetime:
        return datetime.now(UTC) - timedelta(seconds=ago)

    async def go(store: Store) -> str:
        req = await ApprovalService(store).get(request_id)
        return await LinkSigner(store, clock=clock).issue(req, user)

    return urlsplit(with_store(settings, go)).path


def sign_in_through(client: TestClient, path: str, name: str) -> Any:
    """Follow a link while signed out: the log-in page, then on to the link's target."""
    client.cookies.clear()
    first = client.get(path, follow_redirects=False)
    assert first.status_code == 303
    location = first.headers["location"]
    assert location.startswith("/login?next=")
    target = unquote(location.split("next=", 1)[1])
    assert target == path
    form = client.get(location)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    done = client.post("/login", data={"name": name, "password": f"{name}-pw",
                                       "csrf": csrf.group(1), "next": target},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == path
    return client.get(path, follow_redirects=False)


def request_json(client: TestClient, tokens: dict[str, str], request_id: str) -> Any:
    return client.get(f"/api/approvals/{request_id}", headers=bearer(tokens["vic"])).json()


def test_a_link_leads_through_log_in_to_the_decision_page_and_works_once(
        client: TestClient, settings: Settings, tokens: dict[str, str]) -> None:
    request_id = file_request(settings)
    path = issue(settings, request_id, "alice")
    opened = sign_in_through(client, path, "alice")
    assert opened.status_code == 303
    assert opened.headers["location"].startswith(f"/approvals/{request_id}?notice=")
    page = client.get(opened.headers["location"])
    assert 'id="approve-form"' in page.text and "opened from your link" in page.text
    # Opening the link decided nothing.
    before = request_json(client, tokens, request_id)
    assert before["status"] == "pending" and before["decisions"] == [] \
        and before["version"] == 1
    again = client.get(path, follow_redirects=False)
    assert again.status_code == 409 and "used already" in again.text
    # The decision is the form's POST (CSRF); the two-person rule still holds.
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    client.post(f"/approvals/{request_id}/approve",
                data={"csrf": csrf.group(1), "version": "1"})
    after = request_json(client, tokens, request_id)
    assert after["status"] == "pending" and after["approvers"] == ["alice"]
    second = issue(settings, request_id, "alice")
    landed = client.get(client.get(second, follow_redirects=False).headers["location"])
    assert 'id="approve-form"' not in landed.text
    assert "You approved these arguments already" in landed.text
    async def trail(store: Store) -> list[tuple[str, str]]:
        log = ApprovalService(store).audit
        return [(r.kind, r.actor) async for r in log.records(request_id=request_id)]

    assert [k for k in with_store(settings, trail) if k[0].startswith("link.")] == [
        ("link.used", "alice"), ("link.refused", "alice"), ("link.used", "alice")]


def test_a_link_used_by_another_user_is_refused_and_stays_valid_for_its_owner(
        client: TestClient, settings: Settings, tokens: dict[str, str]) -> None:
    request_id = file_request(settings)
    path = issue(settings, request_id, "alice")
    refused = sign_in_through(client, path, "bob")
    assert refused.status_code == 403
    assert "it was sent to alice, and you are signed in as bob" in refused.text
    login(client, "alice")
    assert client.get(path, follow_redirects=False).status_code == 303


def test_a_tampered_link_is_refused(client: TestClient, settings: Settings,
                                    tokens: dict[str, str]) -> None:
    request_id = file_request(settings)
    other = file_request(settings, "high")
    path = issue(settings, request_id, "alice")
    token = path.rsplit("/", 1)[1]
    body, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["r"] = other  # point the link at another request
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    login(client, "alice")
    for bad in (f"{forged}.{signature}", f"{body}.{signature[:-2]}xx", body, "garbage"):
        answer = client.get(f"/approvals/link/{bad}", follow_redirects=False)
        assert answer.status_code == 403, bad
        assert "signature does not match" in answer.text
    assert client.get(path, follow_redirects=False).status_code == 303  # the real one works


def test_an_expired_link_is_refused(client: TestClient, settings: Settings,
                                    tokens: dict[str, str]) -> None:
    request_id = file_request(settings)
    path = issue(settings, request_id, "alice", ago=3 * 86400)  # lifetime: 1 day
    login(client, "alice")
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 403 and "it expired at" in answer.text


def test_the_requester_arriving_by_link_still_cannot_approve(
        client: TestClient, settings: Settings, tokens: dict[str, str]) -> None:
    async def go(store: Store) -> str:
        need = ApprovalPolicy().evaluate(ActionFacts("storage.wipe", "high", True))
        return (await ApprovalService(store).submit(Proposal(
            run_id="r2", step_id="s1", action="storage.wipe", args={}, requester="alice",
            reason="mine"), need)).id

    request_id = with_store(settings, go)
    path = issue(settings, request_id, "alice")
    login(client, "alice")
    page = client.get(client.get(path, follow_redirects=False).headers["location"])
    assert 'id="approve-form"' not in page.text
    assert "You requested this action" in page.text
