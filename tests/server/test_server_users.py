"""Removing people: an admin disables or deletes a user through the API or the dashboard;
their tokens and sessions stop working at once, and their past decisions stay."""

from __future__ import annotations

from fastapi.testclient import TestClient
from server_helpers import bearer, login, wait_for


def _decided_request(client: TestClient, tokens: dict[str, str]) -> str:
    run_id = client.post("/api/runs", json={"sequence": "deploy"},
                         headers=bearer(tokens["ada"])).json()["id"]
    wait_for(lambda: client.get(f"/api/runs/{run_id}", headers=bearer(tokens["vic"])
                                ).json()["status"] == "waiting", what="waiting")
    request_id: str = client.get(f"/api/runs/{run_id}", headers=bearer(tokens["vic"])
                                 ).json()["approvals"][0]["id"]
    approved = client.post(f"/api/approvals/{request_id}/approve", json={},
                           headers=bearer(tokens["alice"]))
    assert approved.status_code == 200
    return request_id


def test_a_disabled_user_is_locked_out_at_once_and_their_decisions_stay(
        client: TestClient, tokens: dict[str, str]) -> None:
    request_id = _decided_request(client, tokens)
    login(client, "alice")  # a dashboard session opened before the change
    assert client.get("/approvals", follow_redirects=False).status_code == 200
    assert client.get("/api/me", headers=bearer(tokens["alice"])).status_code == 200
    done = client.patch("/api/users/alice", json={"disabled": True},
                        headers=bearer(tokens["ada"]))
    assert done.status_code == 200 and done.json()["disabled"] is True
    assert client.get("/api/me", headers=bearer(tokens["alice"])).status_code == 401
    assert client.get("/approvals", follow_redirects=False).status_code == 303  # to log in
    detail = client.get(f"/api/approvals/{request_id}", headers=bearer(tokens["vic"])).json()
    assert detail["approvers"] == ["alice"]
    trail = client.get("/api/audit/export", headers=bearer(tokens["vic"])).text
    assert '"actor": "alice"' in trail and '"kind": "decision.approve"' in trail
    assert client.get("/api/audit/verify", headers=bearer(tokens["vic"])).json()["ok"]
    client.patch("/api/users/alice", json={"disabled": False}, headers=bearer(tokens["ada"]))
    assert client.get("/api/me", headers=bearer(tokens["alice"])).status_code == 200


def test_a_deleted_user_loses_every_token_and_their_decisions_stay(
        client: TestClient, tokens: dict[str, str]) -> None:
    request_id = _decided_request(client, tokens)
    viewer = client.delete("/api/users/alice", headers=bearer(tokens["vic"]))
    assert viewer.status_code == 403
    gone = client.delete("/api/users/alice", headers=bearer(tokens["ada"]))
    assert gone.status_code == 200
    assert client.get("/api/me", headers=bearer(tokens["alice"])).status_code == 401
    names = [u["name"] for u in client.get("/api/users", headers=bearer(tokens["ada"])).json()]
    assert "alice" not in names
    detail = client.get(f"/api/approvals/{request_id}", headers=bearer(tokens["vic"])).json()
    assert [d["decider"] for d in detail["decisions"]] == ["alice"]
    assert client.delete("/api/users/alice", headers=bearer(tokens["ada"])).status_code == 404


def test_an_admin_cannot_lock_themselves_out(client: TestClient,
                                             tokens: dict[str, str]) -> None:
    own = client.patch("/api/users/ada", json={"disabled": True}, headers=bearer(tokens["ada"]))
    assert own.status_code == 409
    assert client.delete("/api/users/ada", headers=bearer(tokens["ada"])).status_code == 409


def test_the_dashboard_users_page_disables_and_deletes(client: TestClient,
                                                       tokens: dict[str, str]) -> None:
    csrf = login(client, "vic")
    assert client.get("/users", follow_redirects=False).status_code == 403
    csrf = login(client, "ada")
    page = client.get("/users")
    assert page.status_code == 200 and 'id="user-bob"' in page.text
    client.post("/users/bob/disable", data={"csrf": csrf})
    assert client.get("/api/me", headers=bearer(tokens["bob"])).status_code == 401
    assert "disabled" in client.get("/users").text
    refused = client.post("/users/bob/delete", data={"csrf": csrf, "confirm": "nope"})
    assert "type the name" in refused.text
    client.post("/users/bob/delete", data={"csrf": csrf, "confirm": "bob"})
    assert 'id="user-bob"' not in client.get("/users").text
    no_csrf = client.post("/users/vic/disable", data={}, follow_redirects=False)
    assert no_csrf.status_code in (400, 403)
    assert client.get("/api/me", headers=bearer(tokens["vic"])).status_code == 200
