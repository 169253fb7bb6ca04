"""Issue 23 item 14: a waiting run links its requests (live), traces of an open run are named,
admins start red-team runs from the red-team page, narrow screens do not overflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from server_helpers import bearer, login, wait_for

STATIC = Path(__file__).resolve().parents[2] / "src" / "aios" / "server" / "static"


def _status(client: TestClient, token: str, run_id: str) -> Any:
    return client.get(f"/api/runs/{run_id}", headers=bearer(token)).json()["status"]


def test_a_waiting_runs_page_links_its_request_and_names_its_trace(
        client: TestClient, tokens: dict[str, str]) -> None:
    run_id = client.post("/api/runs", json={"sequence": "deploy"},
                         headers=bearer(tokens["ada"])).json()["id"]
    wait_for(lambda: _status(client, tokens["vic"], run_id) == "waiting", what="waiting")
    request_id = client.get(f"/api/runs/{run_id}", headers=bearer(tokens["vic"])
                            ).json()["approvals"][0]["id"]
    login(client, "vic")
    page = client.get(f"/runs/{run_id}").text
    assert f'href="/approvals/{request_id}"' in page and 'id="requests-body"' in page
    assert "(root not stored)" not in page
    traces = client.get(f"/traces?run_id={run_id}").text
    assert "(root not stored)" not in traces


def test_the_run_page_fills_its_requests_live() -> None:
    script = (STATIC / "app.js").read_text()
    # A request filed after the page was drawn gets its linked row from the event stream.
    assert 'addEventListener("approval.created"' in script
    assert '"/approvals/" + data.request_id' in script and "requests-body" in script


def test_an_admin_starts_a_red_team_run_from_the_page(client: TestClient,
                                                      tokens: dict[str, str]) -> None:
    csrf = login(client, "ada")
    page = client.get("/redteam").text
    assert 'id="start-redteam"' in page
    started = client.post("/redteam/run", data={"csrf": csrf, "target": "bogus:x",
                                                "guardrails": "both"}, follow_redirects=False)
    assert started.status_code == 303 and "error=" in started.headers["location"]
    started = client.post("/redteam/run", data={
        "csrf": csrf, "target": "callable:tests.security.redteam_support:slow_target",
        "guardrails": "off"}, follow_redirects=False)
    assert started.status_code == 303 and "notice=" in started.headers["location"]
    reports = client.get("/api/redteam/reports", headers=bearer(tokens["ada"])).json()
    assert [r["target"] for r in reports] == [
        "callable:tests.security.redteam_support:slow_target"]


def test_a_viewer_gets_no_red_team_form_and_cannot_post_one(client: TestClient,
                                                            tokens: dict[str, str]) -> None:
    csrf = login(client, "vic")
    assert 'id="start-redteam"' not in client.get("/redteam").text
    refused = client.post("/redteam/run", data={"csrf": csrf, "target": "model:"},
                          follow_redirects=False)
    assert refused.status_code in (303, 403) and "notice=" not in refused.headers.get(
        "location", "")


def test_narrow_screens_scroll_tables_inside_themselves() -> None:
    css = (STATIC / "app.css").read_text()
    assert "@media (max-width: 720px)" in css and "overflow-x: auto" in css
