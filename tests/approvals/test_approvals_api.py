"""The REST API: bearer tokens, roles, list/show/approve/reject/edit, errors as HTTP codes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from approval_helpers import proposal, requirement
from fastapi.testclient import TestClient

from aios.approvals import ApprovalService
from aios.auth import Role, TokenStore, UserStore
from aios.server import create_app
from aios.settings import Settings
from aios.store import Store


def _setup(settings: Settings) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        store = await Store.open(settings.store_url())
        try:
            users, tokens = UserStore(store), TokenStore(store)
            out: dict[str, Any] = {}
            for name, role in (("alice", Role.approver), ("bob", Role.approver),
                               ("vic", Role.viewer), ("ada", Role.admin)):
                await users.add(name, role, password=f"{name}-pw" if name == "ada" else None)
                out[name] = (await tokens.issue(name, expires_in=3600)).secret
            service = ApprovalService(store)
            out["high"] = (await service.submit(proposal(step_id="h", requester="alice"),
                                                requirement("high"))).id
            out["crit"] = (await service.submit(proposal(step_id="c"),
                                                requirement("critical"))).id
            return out
        finally:
            await store.close()

    return asyncio.run(go())


@pytest.fixture
def ctx(settings: Settings) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    data = _setup(settings)
    with TestClient(create_app(settings, expiry_interval=0.05)) as client:
        yield client, data


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_openapi_documents_the_approval_routes(ctx: tuple[TestClient, Any]) -> None:
    client, _ = ctx
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/approvals", "/api/approvals/{request_id}",
                 "/api/approvals/{request_id}/approve", "/api/approvals/{request_id}/reject",
                 "/api/approvals/{request_id}/edit", "/api/audit/verify", "/api/auth/token"):
        assert path in paths


def test_reading_needs_a_valid_token(ctx: tuple[TestClient, Any]) -> None:
    client, data = ctx
    missing = client.get("/api/approvals")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/approvals", headers=auth("aios_x_y")).status_code == 401
    listed = client.get("/api/approvals", headers=auth(data["vic"]))
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [data["crit"], data["high"]]
    one = client.get(f"/api/approvals/{data['high'][:8]}", headers=auth(data["vic"])).json()
    assert one["id"] == data["high"] and one["status"] == "pending"
    assert client.get("/api/approvals/nope", headers=auth(data["vic"])).status_code == 404


def test_viewers_read_approvers_decide(ctx: tuple[TestClient, Any]) -> None:
    client, data = ctx
    url = f"/api/approvals/{data['crit']}/approve"
    denied = client.post(url, json={}, headers=auth(data["vic"]))
    assert denied.status_code == 403 and "approver role" in denied.json()["detail"]
    first = client.post(url, json={"comment": "ok"}, headers=auth(data["alice"]))
    assert first.status_code == 200 and first.json()["approvers"] == ["alice"]
    twice = client.post(url, json={}, headers=auth(data["alice"]))
    assert twice.status_code == 409 and "distinct" in twice.json()["detail"]
    stale = client.post(url, json={"version": 1}, headers=auth(data["bob"]))
    assert stale.status_code == 409
    done = client.post(url, json={"version": first.json()["version"]},
                       headers=auth(data["bob"]))
    assert done.json()["status"] == "approved"


def test_separation_of_duties_and_reject_reason(ctx: tuple[TestClient, Any]) -> None:
    client, data = ctx
    own = client.post(f"/api/approvals/{data['high']}/approve", json={},
                      headers=auth(data["alice"]))
    assert own.status_code == 403 and "separation of duties" in own.json()["detail"]
    no_reason = client.post(f"/api/approvals/{data['high']}/reject", json={},
                            headers=auth(data["bob"]))
    assert no_reason.status_code == 422
    rejected = client.post(f"/api/approvals/{data['high']}/reject", json={"reason": "no"},
                           headers=auth(data["bob"]))
    assert rejected.json()["status"] == "rejected"
    late = client.post(f"/api/approvals/{data['high']}/approve", json={},
                       headers=auth(data["bob"]))
    assert late.status_code == 409


def test_edit_and_approve(ctx: tuple[TestClient, Any]) -> None:
    client, data = ctx
    edited = client.post(f"/api/approvals/{data['high']}/edit",
                         json={"args": {"path": "/srv"}}, headers=auth(data["bob"]))
    assert edited.status_code == 200
    body = edited.json()
    assert body["current_args"] == {"path": "/srv"} and body["status"] == "approved"
    assert [s["stage"] for s in body["lineage"]] == ["proposed", "edited"]


def test_audit_verify_and_export(ctx: tuple[TestClient, Any]) -> None:
    client, data = ctx
    client.post(f"/api/approvals/{data['high']}/approve", json={}, headers=auth(data["bob"]))
    report = client.get("/api/audit/verify", headers=auth(data["vic"])).json()
    assert report["ok"] and report["records"] == 4
    lines = client.get("/api/audit/export", headers=auth(data["vic"])).text.splitlines()
    assert len(lines) == 4


def test_admins_manage_users_and_passwords_sign_in(ctx: tuple[TestClient, Any]) -> None:
    client, data = ctx
    assert client.get("/api/users", headers=auth(data["alice"])).status_code == 403
    made = client.post("/api/users", json={"name": "carl", "role": "approver"},
                       headers=auth(data["ada"]))
    assert made.status_code == 201
    issued = client.post("/api/users/carl/tokens", json={"expires": "1h"},
                         headers=auth(data["ada"])).json()
    assert client.get("/api/me", headers=auth(issued["token"])).json()["name"] == "carl"
    client.delete(f"/api/tokens/{issued['id']}", headers=auth(data["ada"]))
    revoked = client.get("/api/me", headers=auth(issued["token"]))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    bad = client.post("/api/auth/token", json={"name": "ada", "password": "wrong"})
    assert bad.status_code == 401
    login = client.post("/api/auth/token", json={"name": "ada", "password": "ada-pw"}).json()
    assert client.get("/api/me", headers=auth(login["token"])).json()["role"] == "admin"
    bad_expiry = client.post("/api/users/carl/tokens", json={"expires": "soon"},
                             headers=auth(data["ada"]))
    assert bad_expiry.status_code == 400


def test_the_server_applies_deadlines_on_its_own(settings: Settings) -> None:
    data = _setup(settings)

    async def short(store: Store) -> str:
        from aios.approvals import ApprovalPolicy

        policy = ApprovalPolicy.model_validate({"levels": {"high": {"deadline": 0.2}}})
        return (await ApprovalService(store).submit(proposal(step_id="soon"),
                                                    requirement("high", policy))).id

    async def go() -> str:
        store = await Store.open(settings.store_url())
        try:
            return await short(store)
        finally:
            await store.close()

    rid = asyncio.run(go())
    with TestClient(create_app(settings, expiry_interval=0.05)) as client:
        for _ in range(100):
            got = client.get("/api/approvals?status=expired", headers=auth(data["vic"])).json()
            if got:
                break
            time.sleep(0.05)
        assert [r["id"] for r in got] == [rid]
