"""Runs through the REST API: they execute in the server's runtime, wait for approvals, and
resume as soon as the approvals arrive (through this server or from elsewhere)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import add_people, bearer, login, wait_for

from aios.approvals import ApprovalService
from aios.auth import UserStore
from aios.server import create_app
from aios.settings import Settings
from aios.store import Store


def _run(client: TestClient, token: str, run_id: str) -> dict[str, Any]:
    response = client.get(f"/api/runs/{run_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _status_is(client: TestClient, token: str, run_id: str, status: str) -> bool:
    return bool(_run(client, token, run_id)["status"] == status)


def test_a_sequence_started_through_the_api_runs_in_the_server(
        client: TestClient, tokens: dict[str, str]) -> None:
    started = client.post("/api/runs", json={"sequence": "quick"}, headers=bearer(tokens["alice"]))
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert started.json()["target"] == "quick"
    wait_for(lambda: _status_is(client, tokens["vic"], run_id, "succeeded"), what="quick run")
    run = _run(client, tokens["vic"], run_id)
    assert [s["status"] for s in run["steps"]] == ["succeeded", "succeeded"]
    assert run["metadata"] == {"demo.probe": {"seen": "two"}}
    assert [n["id"] for n in run["dag"]] == ["one", "two"]
    assert run["dag"][1]["depends_on"] == ["one"]
    listed = client.get("/api/runs", headers=bearer(tokens["vic"])).json()
    assert run_id in [r["id"] for r in listed]


def test_an_action_runs_with_its_arguments_checked(client: TestClient,
                                                   tokens: dict[str, str]) -> None:
    ok = client.post("/api/runs", json={"action": "demo.probe"}, headers=bearer(tokens["alice"]))
    assert ok.status_code == 202 and ok.json()["kind"] == "action"
    wait_for(lambda: _status_is(client, tokens["vic"], ok.json()["id"], "succeeded"),
             what="action run")
    unknown = client.post("/api/runs", json={"sequence": "nope"}, headers=bearer(tokens["alice"]))
    assert unknown.status_code == 404 and "known: deploy" in unknown.json()["detail"]
    both = client.post("/api/runs", json={"sequence": "quick", "action": "demo.probe"},
                       headers=bearer(tokens["alice"]))
    assert both.status_code == 422


def test_a_critical_step_waits_for_two_approvers_then_the_run_resumes_by_itself(
        client: TestClient, tokens: dict[str, str], workdir: Path) -> None:
    run_id = client.post("/api/runs", json={"sequence": "deploy"},
                         headers=bearer(tokens["ada"])).json()["id"]
    wait_for(lambda: _status_is(client, tokens["vic"], run_id, "waiting"), what="waiting")
    run = _run(client, tokens["vic"], run_id)
    statuses = {n["id"]: n["status"] for n in run["dag"]}
    assert statuses == {"check": "succeeded", "inventory": "succeeded", "change": "waiting",
                        "verify": "pending"}
    [request] = run["approvals"]
    assert request["required_approvals"] == 2
    detail = client.get(f"/api/approvals/{request['id']}", headers=bearer(tokens["vic"])).json()
    assert detail["requester"] == "ada"  # the authenticated user who started the run
    assert detail["args"] == {"note": "planned"}
    # The requester may not approve their own request.
    own = client.post(f"/api/approvals/{request['id']}/approve", json={},
                      headers=bearer(tokens["ada"]))
    assert own.status_code == 403
    first = client.post(f"/api/approvals/{request['id']}/approve", json={},
                        headers=bearer(tokens["alice"]))
    assert first.status_code == 200 and first.json()["status"] == "pending"
    assert _run(client, tokens["vic"], run_id)["status"] == "waiting"
    assert not (workdir / "marker.txt").exists()
    second = client.post(f"/api/approvals/{request['id']}/approve", json={},
                         headers=bearer(tokens["bob"]))
    assert second.json()["status"] == "approved"
    wait_for(lambda: _status_is(client, tokens["vic"], run_id, "succeeded"), what="resumed run")
    lines = (workdir / "marker.txt").read_text().splitlines()
    assert lines == [f"{run_id} change planned"]


def test_an_approval_decided_elsewhere_is_picked_up_by_the_resume_loop(
        client: TestClient, tokens: dict[str, str], settings: Settings, workdir: Path) -> None:
    run_id = client.post("/api/runs", json={"sequence": "deploy"},
                         headers=bearer(tokens["ada"])).json()["id"]
    wait_for(lambda: _status_is(client, tokens["vic"], run_id, "waiting"), what="waiting")

    async def decide_in_another_process() -> None:
        # Another ApprovalService on the same store: this server hears of it only by polling.
        store = await Store.open(settings.store_url())
        try:
            service = ApprovalService(store)
            [req] = await service.queue(run_id=run_id)
            users = UserStore(store)
            await service.approve(req.id, await users.get("alice"))
            await service.approve(req.id, await users.get("bob"))
        finally:
            await store.close()

    asyncio.run(decide_in_another_process())
    wait_for(lambda: _status_is(client, tokens["vic"], run_id, "succeeded"), what="resume loop")
    assert len((workdir / "marker.txt").read_text().splitlines()) == 1


def test_a_rejected_request_fails_the_run_with_the_reason(client: TestClient,
                                                          tokens: dict[str, str],
                                                          workdir: Path) -> None:
    run_id = client.post("/api/runs", json={"sequence": "deploy"},
                         headers=bearer(tokens["ada"])).json()["id"]
    wait_for(lambda: _status_is(client, tokens["vic"], run_id, "waiting"), what="waiting")
    [request] = _run(client, tokens["vic"], run_id)["approvals"]
    no_reason = client.post(f"/api/approvals/{request['id']}/reject", json={"reason": ""},
                            headers=bearer(tokens["bob"]))
    assert no_reason.status_code == 422
    rejected = client.post(f"/api/approvals/{request['id']}/reject",
                           json={"reason": "not during the freeze"},
                           headers=bearer(tokens["bob"]))
    assert rejected.status_code == 200
    wait_for(lambda: _status_is(client, tokens["vic"], run_id, "failed"), what="failed run")
    run = _run(client, tokens["vic"], run_id)
    change = next(s for s in run["steps"] if s["step_id"] == "change")
    assert "not during the freeze" in change["error"] and "bob" in change["error"]
    assert not (workdir / "marker.txt").exists()


def test_cancel_stops_an_executing_run_and_records_a_waiting_one(
        client: TestClient, tokens: dict[str, str]) -> None:
    executing = client.post("/api/runs", json={"sequence": "hold"},
                            headers=bearer(tokens["alice"])).json()["id"]
    wait_for(lambda: any(s["status"] == "running"
                         for s in _run(client, tokens["vic"], executing)["steps"]),
             what="slow step running")
    assert _run(client, tokens["vic"], executing)["active"] is True
    viewer = client.post(f"/api/runs/{executing}/cancel", headers=bearer(tokens["vic"]))
    assert viewer.status_code == 403
    cancelled = client.post(f"/api/runs/{executing}/cancel", headers=bearer(tokens["alice"]))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/runs/{executing}/cancel", headers=bearer(tokens["alice"]))
    assert again.status_code == 409

    waiting = client.post("/api/runs", json={"sequence": "deploy"},
                          headers=bearer(tokens["ada"])).json()["id"]
    wait_for(lambda: _status_is(client, tokens["vic"], waiting, "waiting"), what="waiting")
    response = client.post(f"/api/runs/{waiting}/cancel", headers=bearer(tokens["alice"]))
    assert response.json()["status"] == "cancelled"
    steps = {s["step_id"]: s for s in _run(client, tokens["vic"], waiting)["steps"]}
    assert steps["change"]["status"] == "cancelled"
    assert steps["change"]["error"] == "cancelled by alice"


def test_the_dashboard_cancel_shows_the_run_with_a_notice_or_the_error(
        client: TestClient, tokens: dict[str, str]) -> None:
    waiting = client.post("/api/runs", json={"sequence": "deploy"},
                          headers=bearer(tokens["ada"])).json()["id"]
    wait_for(lambda: _status_is(client, tokens["vic"], waiting, "waiting"), what="waiting")
    csrf = login(client, "alice")
    done = client.post(f"/runs/{waiting}/cancel", data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/runs/{waiting}?notice=run%20cancelled"
    assert _run(client, tokens["vic"], waiting)["status"] == "cancelled"
    again = client.post(f"/runs/{waiting}/cancel", data={"csrf": csrf}, follow_redirects=False)
    assert again.headers["location"].startswith(f"/runs/{waiting}?error=")


def test_resume_continues_a_failed_run_keeping_finished_steps(
        client: TestClient, tokens: dict[str, str], workdir: Path) -> None:
    (workdir / "flaky").write_text("on")
    run_id = client.post("/api/runs", json={"sequence": "shaky"},
                         headers=bearer(tokens["alice"])).json()["id"]
    wait_for(lambda: _status_is(client, tokens["vic"], run_id, "failed"), what="failed run")
    first = {s["step_id"]: s["at"] for s in _run(client, tokens["vic"], run_id)["steps"]}
    (workdir / "flaky").unlink()
    resumed = client.post(f"/api/runs/{run_id}/resume", headers=bearer(tokens["alice"]))
    assert resumed.status_code == 202
    wait_for(lambda: _status_is(client, tokens["vic"], run_id, "succeeded"), what="resumed")
    after = {s["step_id"]: s["at"] for s in _run(client, tokens["vic"], run_id)["steps"]}
    assert after["first"] == first["first"]  # kept, not run again
    done = client.post(f"/api/runs/{run_id}/resume", headers=bearer(tokens["alice"]))
    assert done.status_code == 409


def test_the_manifest_endpoint_lists_sequences_with_their_dags(client: TestClient,
                                                               tokens: dict[str, str]) -> None:
    data = client.get("/api/manifest", headers=bearer(tokens["vic"])).json()
    assert data["name"] == "server-test"
    deploy = next(s for s in data["sequences"] if s["name"] == "deploy")
    assert {s["id"]: s["depends_on"] for s in deploy["steps"]}["change"] == ["check",
                                                                             "inventory"]
    write = next(a for a in data["actions"] if a["name"] == "demo.write")
    assert write["criticality"] == "critical" and write["mutates"] is True


def test_health_needs_no_credentials(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["store"] == "ok"


@pytest.mark.postgres
def test_runs_wait_and_resume_on_postgresql(pg_settings: Settings, manifest_path: Path,
                                            workdir: Path) -> None:
    tokens = add_people(pg_settings)
    app = create_app(pg_settings, manifest=manifest_path, resume_interval=0.1,
                     expiry_interval=0)
    with TestClient(app) as client:
        run_id = client.post("/api/runs", json={"sequence": "deploy"},
                             headers=bearer(tokens["ada"])).json()["id"]
        wait_for(lambda: _status_is(client, tokens["vic"], run_id, "waiting"), what="waiting")
        [request] = _run(client, tokens["vic"], run_id)["approvals"]
        for name in ("alice", "bob"):
            client.post(f"/api/approvals/{request['id']}/approve", json={},
                        headers=bearer(tokens[name]))
        wait_for(lambda: _status_is(client, tokens["vic"], run_id, "succeeded"),
                 what="resumed run")
    assert (workdir / "marker.txt").read_text().splitlines() == [f"{run_id} change planned"]
