"""Separation of duties across a resume: the user who started a run never approves what it
asks, whoever resumed it; nor does the resumer. Through the API, the CLI and the dashboard.

The `guarded` sequence runs `demo.flaky` (fails while the FLAKY file exists), then the
critical `demo.write`, which needs two approvals.
"""

from __future__ import annotations

import getpass
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from server_helpers import bearer, login, wait_for
from typer.testing import CliRunner

from aios.cli.main import app as cli_app

runner = CliRunner()


def _run(client: TestClient, token: str, run_id: str) -> dict[str, Any]:
    data: dict[str, Any] = client.get(f"/api/runs/{run_id}", headers=bearer(token)).json()
    return data


def _failed_run_of(client: TestClient, tokens: dict[str, str], starter: str,
                   workdir: Path) -> str:
    (workdir / "flaky").write_text("on")
    started = client.post("/api/runs", json={"sequence": "guarded"},
                          headers=bearer(tokens[starter]))
    assert started.status_code == 202, started.text
    run_id: str = started.json()["id"]
    wait_for(lambda: _run(client, tokens["vic"], run_id)["status"] == "failed", what="failed")
    (workdir / "flaky").unlink()
    return run_id


def _request_of(client: TestClient, tokens: dict[str, str], run_id: str) -> dict[str, Any]:
    found = wait_for(lambda: _run(client, tokens["vic"], run_id)["approvals"],
                     what="the approval request of the resumed run")
    request: dict[str, Any] = found[0]
    return request


def test_the_initiator_cannot_approve_after_another_user_resumes(
        client: TestClient, tokens: dict[str, str], workdir: Path) -> None:
    run_id = _failed_run_of(client, tokens, "alice", workdir)
    assert _run(client, tokens["vic"], run_id)["initiator"] == "alice"
    resumed = client.post(f"/api/runs/{run_id}/resume", headers=bearer(tokens["bob"]))
    assert resumed.status_code == 202
    request = _request_of(client, tokens, run_id)
    detail = client.get(f"/api/approvals/{request['id']}", headers=bearer(tokens["vic"])).json()
    assert detail["requester"] == "alice"  # who started the run, not who resumed it
    own = client.post(f"/api/approvals/{request['id']}/approve", json={},
                      headers=bearer(tokens["alice"]))
    assert own.status_code == 403, own.text
    assert "alice" in own.json()["detail"] and "started run" in own.json()["detail"]
    resumer = client.post(f"/api/approvals/{request['id']}/approve", json={},
                          headers=bearer(tokens["bob"]))
    assert resumer.status_code == 403, resumer.text
    assert "resumed run" in resumer.json()["detail"]
    other = client.post(f"/api/approvals/{request['id']}/approve", json={},
                        headers=bearer(tokens["ada"]))
    assert other.status_code == 200 and other.json()["status"] == "pending"
    assert not (workdir / "marker.txt").exists()


def test_the_initiator_cannot_approve_after_a_resume_from_the_cli(
        client: TestClient, tokens: dict[str, str], workdir: Path,
        manifest_path: Path) -> None:
    run_id = _failed_run_of(client, tokens, "alice", workdir)
    resumed = runner.invoke(cli_app, ["runs", "resume", run_id, "--manifest",
                                      str(manifest_path)], env={"COLUMNS": "160"})
    assert resumed.exit_code == 0, resumed.output  # waiting for approval
    request = _request_of(client, tokens, run_id)
    assert client.get(f"/api/approvals/{request['id']}",
                      headers=bearer(tokens["vic"])).json()["requester"] == "alice"
    refused = runner.invoke(cli_app, ["approvals", "approve", request["id"][:12],
                                      "--token", tokens["alice"]], env={"COLUMNS": "160"})
    assert refused.exit_code == 2, refused.output
    assert "may not approve" in refused.output
    # The operating-system user who resumed it from the CLI may not approve it either.
    me = getpass.getuser()
    assert runner.invoke(cli_app, ["users", "add", me, "--role", "approver"]).exit_code == 0
    mine = runner.invoke(cli_app, ["users", "token", me, "--expires", "1h"]).stdout.strip()
    refused = runner.invoke(cli_app, ["approvals", "approve", request["id"][:12],
                                      "--token", mine], env={"COLUMNS": "160"})
    assert refused.exit_code == 2, refused.output
    assert "resumed run" in refused.output


def test_the_initiator_cannot_approve_through_the_dashboard_after_a_resume(
        client: TestClient, tokens: dict[str, str], workdir: Path) -> None:
    (workdir / "flaky").write_text("on")
    csrf = login(client, "alice")
    started = client.post("/runs", data={"csrf": csrf, "sequence": "guarded"},
                          follow_redirects=False)
    run_id = started.headers["location"].rsplit("/", 1)[1]
    wait_for(lambda: _run(client, tokens["vic"], run_id)["status"] == "failed", what="failed")
    (workdir / "flaky").unlink()
    csrf = login(client, "bob")
    client.post(f"/runs/{run_id}/resume", data={"csrf": csrf})
    request = _request_of(client, tokens, run_id)
    csrf = login(client, "alice")
    detail = client.get(f"/approvals/{request['id']}")
    assert 'id="approve-form"' not in detail.text  # no form offered to the initiator
    version = re.search(r'name="version" value="(\d+)"', detail.text)
    done = client.post(f"/approvals/{request['id']}/approve",
                       data={"csrf": csrf, "version": version.group(1) if version else ""})
    assert "may not approve" in done.text
    status = client.get(f"/api/approvals/{request['id']}", headers=bearer(tokens["vic"]))
    assert status.json()["status"] == "pending" and status.json()["decisions"] == []
