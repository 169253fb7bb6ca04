"""The dashboard pages: overview, runs with their DAG, traces as waterfalls, the approval
forms (approve, reject with a reason, edit), charts; each for the roles that may see it."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from server_helpers import bearer, login, wait_for


def _status(client: TestClient, token: str, run_id: str) -> str:
    return str(client.get(f"/api/runs/{run_id}", headers=bearer(token)).json()["status"])


def test_pages_ask_for_a_log_in_first(client: TestClient) -> None:
    for path in ("/", "/runs", "/traces", "/charts", "/approvals", "/evals", "/redteam",
                 "/discovery"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path.replace('/', '%2F')}"


def test_the_overview_starts_a_run_and_the_run_page_draws_its_dag(
        client: TestClient, tokens: dict[str, str]) -> None:
    csrf = login(client, "ada")
    overview = client.get("/")
    assert "Runs (24 h)" in overview.text and "Cost today" in overview.text
    assert "P95 latency (24 h)" in overview.text and 'id="start-sequence"' in overview.text
    started = client.post("/runs", data={"csrf": csrf, "sequence": "deploy"},
                          follow_redirects=False)
    assert started.status_code == 303
    run_id = started.headers["location"].rsplit("/", 1)[1]
    wait_for(lambda: _status(client, tokens["vic"], run_id) == "waiting", what="waiting")
    page = client.get(f"/runs/{run_id}")
    assert 'id="run-status">waiting' in page.text
    for step, status in (("check", "succeeded"), ("change", "waiting"), ("verify", "pending")):
        assert f'class="dag-node st-{status}" id="dag-{step}"' in page.text
    assert page.text.count('class="dag-edge"') == 3  # check->change, inventory->change, ->verify
    assert f'data-run-id="{run_id}"' in page.text and 'data-live="1"' in page.text
    assert run_id[:12] in client.get("/").text


def test_a_viewer_sees_no_forms_that_change_state(client: TestClient,
                                                  tokens: dict[str, str]) -> None:
    login(client, "vic")
    overview = client.get("/")
    assert overview.status_code == 200 and 'id="start-sequence"' not in overview.text


def test_approving_through_the_forms_finishes_the_run(client: TestClient,
                                                      tokens: dict[str, str]) -> None:
    run_id = client.post("/api/runs", json={"sequence": "deploy"},
                         headers=bearer(tokens["ada"])).json()["id"]
    wait_for(lambda: _status(client, tokens["vic"], run_id) == "waiting", what="waiting")
    request_id = client.get(f"/api/runs/{run_id}", headers=bearer(tokens["vic"])
                            ).json()["approvals"][0]["id"]
    csrf = login(client, "alice")
    queue = client.get("/approvals")
    assert f'id="approval-{request_id}"' in queue.text and "demo.write" in queue.text
    detail = client.get(f"/approvals/{request_id}")
    assert 'id="approve-form"' in detail.text and 'id="reject-reason"' in detail.text
    assert "changes the host (mutates)" in detail.text and "Append a line" in detail.text
    assert "&#34;note&#34;: &#34;planned&#34;" in detail.text or '"note": "planned"' in detail.text
    version = re.search(r'name="version" value="(\d+)"', detail.text)
    assert version is not None
    no_reason = client.post(f"/approvals/{request_id}/reject",
                            data={"csrf": csrf, "reason": " ", "version": version.group(1)})
    assert "needs a reason" in no_reason.text
    done = client.post(f"/approvals/{request_id}/approve",
                       data={"csrf": csrf, "version": version.group(1)})
    assert "approved (1 of 2)" in done.text
    assert "You approved these arguments already" in done.text
    csrf = login(client, "bob")
    detail = client.get(f"/approvals/{request_id}")
    version = re.search(r'name="version" value="(\d+)"', detail.text)
    assert version is not None
    done = client.post(f"/approvals/{request_id}/approve",
                       data={"csrf": csrf, "version": version.group(1)})
    assert "status approved" in done.text
    wait_for(lambda: _status(client, tokens["vic"], run_id) == "succeeded", what="succeeded")


def test_edit_and_approve_runs_the_edited_arguments(client: TestClient, tokens: dict[str, str],
                                                    workdir: Path) -> None:
    run_id = client.post("/api/runs", json={"sequence": "deploy"},
                         headers=bearer(tokens["ada"])).json()["id"]
    wait_for(lambda: _status(client, tokens["vic"], run_id) == "waiting", what="waiting")
    request_id = client.get(f"/api/runs/{run_id}", headers=bearer(tokens["vic"])
                            ).json()["approvals"][0]["id"]
    csrf = login(client, "alice")
    bad = client.post(f"/approvals/{request_id}/edit",
                      data={"csrf": csrf, "args": '{"note": 5}'})
    assert "not valid" in bad.text or "invalid" in bad.text
    client.post(f"/approvals/{request_id}/edit", data={"csrf": csrf, "args": '{"note": "edited"}'})
    csrf = login(client, "bob")
    client.post(f"/approvals/{request_id}/approve", data={"csrf": csrf})
    wait_for(lambda: _status(client, tokens["vic"], run_id) == "succeeded", what="succeeded")
    assert (workdir / "marker.txt").read_text().split() == [run_id, "change", "edited"]


def test_a_trace_is_drawn_as_a_waterfall(client: TestClient, tokens: dict[str, str]) -> None:
    run_id = client.post("/api/runs", json={"sequence": "quick"},
                         headers=bearer(tokens["alice"])).json()["id"]
    wait_for(lambda: _status(client, tokens["vic"], run_id) == "succeeded", what="succeeded")
    trace = wait_for(lambda: client.get(f"/api/traces?run_id={run_id}",
                                        headers=bearer(tokens["vic"])).json(), what="a trace")
    login(client, "vic")
    run_page = client.get(f"/runs/{run_id}")
    assert f'/traces/{trace[0]["trace_id"]}' in run_page.text
    page = client.get(f'/traces/{trace[0]["trace_id"]}')
    assert page.status_code == 200
    assert page.text.count('class="wf-row wf-action wf-ok"') == 2
    assert 'class="wf-row wf-run wf-ok"' in page.text
    api = client.get(f'/api/traces/{trace[0]["trace_id"]}', headers=bearer(tokens["vic"])).json()
    assert api["roots"][0]["kind"] == "run" and len(api["roots"][0]["children"]) == 2


def test_charts_show_latency_by_agent(client: TestClient, tokens: dict[str, str]) -> None:
    run_id = client.post("/api/runs", json={"sequence": "quick"},
                         headers=bearer(tokens["alice"])).json()["id"]
    wait_for(lambda: _status(client, tokens["vic"], run_id) == "succeeded", what="succeeded")
    wait_for(lambda: client.get("/api/metrics/timeseries", headers=bearer(tokens["vic"])
                                ).json()["by"]["agent"], what="spans")
    login(client, "vic")
    page = client.get("/charts?since=1h")
    assert "P95 latency by agent (1h)" in page.text and "LLM cost by model (1h)" in page.text
    assert '<polyline class="chart-line"' in page.text or '<circle cx=' in page.text
    assert "<td>demo</td>" in page.text
