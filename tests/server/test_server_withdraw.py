"""Cancelling a run through the server withdraws its open approval requests: the queue empties,
the audit trail names who cancelled, deciding one is refused with 409, resuming asks again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import MANIFEST, add_people, bearer, login, wait_for

from aios.approvals import ApprovalService, AuditLog
from aios.server import create_app
from aios.settings import Settings
from aios.store import Store


def _run(client: TestClient, token: str, run_id: str) -> dict[str, Any]:
    response = client.get(f"/api/runs/{run_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _requests(client: TestClient, token: str, run_id: str,
              status: str | None = None) -> list[dict[str, Any]]:
    query = f"?run_id={run_id}" + (f"&status={status}" if status else "")
    response = client.get(f"/api/approvals{query}", headers=bearer(token))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def _audit(settings: Settings, request_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    async def go() -> list[tuple[str, str, dict[str, Any]]]:
        store = await Store.open(settings.store_url())
        try:
            assert (await AuditLog(store).verify()).ok
            return [(r.kind, r.actor, r.data)
                    async for r in ApprovalService(store).audit.records(request_id=request_id)]
        finally:
            await store.close()

    return asyncio.run(go())


def _wait_for_request(client: TestClient, tokens: dict[str, str], run_id: str) -> str:
    found = wait_for(lambda: _requests(client, tokens["vic"], run_id), what="a request")
    request_id: str = found[0]["id"]
    return request_id


def _start_deploy(client: TestClient, tokens: dict[str, str]) -> str:
    started = client.post("/api/runs", json={"sequence": "deploy"}, headers=bearer(tokens["ada"]))
    assert started.status_code == 202, started.text
    run_id: str = started.json()["id"]
    return run_id


def _cancel_waiting_run_and_check(client: TestClient, tokens: dict[str, str],
                                  settings: Settings) -> tuple[str, str]:
    run_id = _start_deploy(client, tokens)
    wait_for(lambda: _run(client, tokens["vic"], run_id)["status"] == "waiting", what="waiting")
    request_id = _wait_for_request(client, tokens, run_id)
    cancelled = client.post(f"/api/runs/{run_id}/cancel", headers=bearer(tokens["alice"]))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    assert _requests(client, tokens["vic"], run_id) == []  # the queue no longer shows it
    [withdrawn] = _requests(client, tokens["vic"], run_id, status="withdrawn")
    assert withdrawn["id"] == request_id and withdrawn["status"] == "withdrawn"
    assert withdrawn["outcome"] == {"status": "withdrawn", "by": "alice",
                                    "reason": "cancelled by alice"}
    refused = client.post(f"/api/approvals/{request_id}/approve", json={},
                          headers=bearer(tokens["bob"]))
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert f"run {run_id[:12]} was cancelled (cancelled by alice)" in detail
    assert "withdrawn" in detail
    rejected = client.post(f"/api/approvals/{request_id}/reject", json={"reason": "late"},
                           headers=bearer(tokens["bob"]))
    assert rejected.status_code == 409
    trail = _audit(settings, request_id)
    assert [(kind, actor) for kind, actor, _ in trail] == [("request.created", "ada"),
                                                          ("request.withdrawn", "alice")]
    assert trail[-1][2]["reason"] == "cancelled by alice"
    return run_id, request_id


def test_cancelling_a_waiting_run_withdraws_its_request(
        client: TestClient, tokens: dict[str, str], settings: Settings) -> None:
    _, request_id = _cancel_waiting_run_and_check(client, tokens, settings)
    hub = client.app.state.services.hub  # type: ignore[attr-defined]
    withdrawn = [m for m in hub.since(0) if m.kind == "approval.withdrawn"]
    assert [(m.data["request_id"], m.data["actor"]) for m in withdrawn] == [(request_id,
                                                                             "alice")]
    metrics = client.get("/metrics", headers=bearer(tokens["vic"]))
    assert metrics.status_code == 200, metrics.text
    assert "# TYPE aios_approvals_waiting gauge" in metrics.text
    assert "aios_approvals_waiting{" not in metrics.text  # the gauge skips withdrawn ones


def test_resuming_a_cancelled_run_asks_for_approval_again(
        client: TestClient, tokens: dict[str, str], settings: Settings,
        workdir: Path) -> None:
    run_id, old = _cancel_waiting_run_and_check(client, tokens, settings)
    resumed = client.post(f"/api/runs/{run_id}/resume", headers=bearer(tokens["ada"]))
    assert resumed.status_code == 202, resumed.text
    wait_for(lambda: _run(client, tokens["vic"], run_id)["status"] == "waiting",
             what="waiting again")
    [new] = _requests(client, tokens["vic"], run_id)
    assert new["id"] != old and new["status"] == "pending" and new["step_id"] == "change"
    assert not (workdir / "marker.txt").exists()  # withdrawn is not an approval
    for name in ("alice", "bob"):
        response = client.post(f"/api/approvals/{new['id']}/approve", json={},
                               headers=bearer(tokens[name]))
        assert response.status_code == 200, response.text
    wait_for(lambda: _run(client, tokens["vic"], run_id)["status"] == "succeeded",
             what="resumed run")
    assert (workdir / "marker.txt").read_text().splitlines() == [f"{run_id} change planned"]


@pytest.fixture
def waiting_manifest(workdir: Path) -> Path:
    """The server tests' manifest, with steps waiting up to 60 s in-process for approval."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "manifest.yaml"
    path.write_text(MANIFEST.format(marker=workdir / "marker.txt", flaky=workdir / "flaky")
                    + "approvals:\n  wait_seconds: 60\n")
    return path


@pytest.fixture
def waiting_client(settings: Settings, waiting_manifest: Path,
                   tokens: dict[str, str]) -> Iterator[TestClient]:
    app = create_app(settings, manifest=waiting_manifest, resume_interval=0.1,
                     expiry_interval=0)
    with TestClient(app) as test_client:
        yield test_client


def test_cancelling_a_run_that_waits_in_the_server_withdraws_its_request(
        waiting_client: TestClient, tokens: dict[str, str], settings: Settings) -> None:
    client = waiting_client
    run_id = _start_deploy(client, tokens)
    request_id = _wait_for_request(client, tokens, run_id)
    run = _run(client, tokens["vic"], run_id)
    assert run["status"] == "running" and run["active"] is True  # waiting in-process
    cancelled = client.post(f"/api/runs/{run_id}/cancel", headers=bearer(tokens["alice"]))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert _requests(client, tokens["vic"], run_id) == []
    [withdrawn] = _requests(client, tokens["vic"], run_id, status="withdrawn")
    assert withdrawn["id"] == request_id
    # The worker withdraws in the canceller's name (not the server's).
    assert withdrawn["outcome"]["by"] == "alice"
    assert [(k, a) for k, a, _ in _audit(settings, request_id)] == [
        ("request.created", "ada"), ("request.withdrawn", "alice")]
    refused = client.post(f"/api/approvals/{request_id}/approve", json={},
                          headers=bearer(tokens["bob"]))
    assert refused.status_code == 409 and "was cancelled" in refused.json()["detail"]


def test_a_run_waiting_in_the_server_at_shutdown_has_its_request_withdrawn(
        settings: Settings, waiting_manifest: Path, tokens: dict[str, str]) -> None:
    app = create_app(settings, manifest=waiting_manifest, resume_interval=0.1,
                     expiry_interval=0)
    with TestClient(app) as client:
        run_id = _start_deploy(client, tokens)
        request_id = _wait_for_request(client, tokens, run_id)
    # Shutdown drains for 5 s, then cancels the run that still waits.
    trail = _audit(settings, request_id)
    assert [(k, a) for k, a, _ in trail][-1] == ("request.withdrawn", "aios-server")
    assert trail[-1][2]["reason"] == "cancelled: the server shut down"


def test_a_failed_withdrawal_still_cancels_the_run(
        client: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: ApprovalService, *args: Any, **kw: Any) -> Any:
        raise OSError("store went away")

    monkeypatch.setattr(ApprovalService, "withdraw_run", broken)
    run_id = _start_deploy(client, tokens)
    wait_for(lambda: _run(client, tokens["vic"], run_id)["status"] == "waiting", what="waiting")
    cancelled = client.post(f"/api/runs/{run_id}/cancel", headers=bearer(tokens["alice"]))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert _run(client, tokens["vic"], run_id)["status"] == "cancelled"
    [still] = _requests(client, tokens["vic"], run_id)  # logged; left as it was
    assert still["status"] == "pending"


def test_the_dashboard_shows_withdrawn_requests_and_refuses_to_decide_them(
        client: TestClient, tokens: dict[str, str], settings: Settings) -> None:
    run_id, request_id = _cancel_waiting_run_and_check(client, tokens, settings)
    csrf = login(client, "bob")
    queue = client.get("/approvals")
    assert "nothing waits for approval" in queue.text
    assert f"/approvals/{request_id}" in queue.text and "st-withdrawn" in queue.text
    page = client.get(f"/approvals/{request_id}")
    assert 'id="withdrawn-note"' in page.text and "cancelled by alice" in page.text
    assert 'id="approve-form"' not in page.text
    posted = client.post(f"/approvals/{request_id}/approve", data={"csrf": csrf},
                         follow_redirects=False)
    assert posted.status_code == 303 and "error=" in posted.headers["location"]
    shown = client.get(posted.headers["location"])
    assert f"run {run_id[:12]} was cancelled" in shown.text


@pytest.mark.postgres
def test_cancel_withdraws_on_postgresql(pg_settings: Settings, manifest_path: Path) -> None:
    tokens = add_people(pg_settings)
    app = create_app(pg_settings, manifest=manifest_path, resume_interval=0.1,
                     expiry_interval=0)
    with TestClient(app) as client:
        _cancel_waiting_run_and_check(client, tokens, pg_settings)
