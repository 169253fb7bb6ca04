"""`POST /api/agents/{name}/runs`: an agent run in the server; it resumes by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import login
from tests.support.scripted_llm import Reply, ScriptedLLMServer

from aios.server import create_app
from aios.settings import Settings

MANIFEST = """\
env: {{COUNTER: "{counter}"}}
models:
  scripted: {{provider: openai, model: scripted, base_url: "{url}/v1",
             api_key_env: SCRIPTED_KEY, capabilities: {{tools: true}}}}
agents:
  ops:
    model: scripted
    actions:
      disk_usage:
        handler: "tests.e2e.agent_handlers:disk_usage"
        inputs: {{type: object, properties: {{path: {{type: string}}}}, required: [path]}}
      cleanup:
        handler: "tests.e2e.agent_handlers:cleanup"
        mutates: true
        criticality: high
        inputs: {{type: object, properties: {{path: {{type: string}}}}, required: [path]}}
"""


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as srv:
        yield srv


@pytest.fixture
def app_client(settings: Settings, tmp_path: Path, server: ScriptedLLMServer,
               tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("SCRIPTED_KEY", "x")
    path = tmp_path / "agents.yaml"
    path.write_text(MANIFEST.format(counter=tmp_path / "counter.txt", url=server.url))
    app = create_app(settings, manifest=path, resume_interval=0.1, expiry_interval=0)
    with TestClient(app) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def until(client: TestClient, run_id: str, token: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown = client.get(f"/api/agents/runs/{run_id}", headers=auth(token)).json()
        if shown["status"] == status and not shown["active"]:
            return dict(shown)
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached {status}: {shown}")


def test_an_agent_run_waits_then_the_server_resumes_it_with_the_edited_arguments(
        app_client: TestClient, server: ScriptedLLMServer, tokens: dict[str, str],
        tmp_path: Path) -> None:
    server.script(Reply.ok("", tool_calls=[{"id": "c1", "name": "ops__cleanup",
                                            "arguments": {"path": "/"}}]),
                  Reply.ok("Cleaned /srv/tmp instead."))
    started = app_client.post("/api/agents/ops/runs", json={"goal": "free space"},
                              headers=auth(tokens["alice"]))
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert started.json()["kind"] == "agent"
    until(app_client, run_id, tokens["vic"], "waiting")
    requests = app_client.get(f"/api/runs/{run_id}", headers=auth(tokens["vic"])).json()
    (request,) = requests["approvals"]
    login(app_client, "vic")  # the dashboard shows the conversation, the gate inline
    page = app_client.get(f"/runs/{run_id}").text
    assert "Conversation" in page and 'ops__cleanup({&#34;path&#34;: &#34;/&#34;})' in page
    assert f'href="/approvals/{request["id"]}"' in page and "free space" in page
    app_client.cookies.clear()
    edited = app_client.post(f"/api/approvals/{request['id']}/edit",
                             json={"args": {"path": "/srv/tmp"}}, headers=auth(tokens["bob"]))
    assert edited.status_code == 200, edited.text
    done = until(app_client, run_id, tokens["vic"], "succeeded")
    assert done["end_reason"] == "final_answer" and done["answer"] == "Cleaned /srv/tmp instead."
    counter = (tmp_path / "counter.txt").read_text().splitlines()
    assert len(counter) == 1 and counter[0].endswith("/srv/tmp")
    tool = next(e for e in done["conversation"] if e["kind"] == "tool")
    assert tool["status"] == "succeeded" and '"/srv/tmp"' in tool["content"]


def test_bad_agent_requests_are_refused_before_any_run(
        app_client: TestClient, tokens: dict[str, str]) -> None:
    missing = app_client.post("/api/agents/nobody/runs", json={"goal": "x"},
                              headers=auth(tokens["alice"]))
    assert missing.status_code == 404 and "ops" in missing.text
    empty = app_client.post("/api/agents/ops/runs", json={"goal": ""},
                            headers=auth(tokens["alice"]))
    assert empty.status_code == 422
    viewer = app_client.post("/api/agents/ops/runs", json={"goal": "x"},
                             headers=auth(tokens["vic"]))
    assert viewer.status_code == 403
    assert app_client.get("/api/runs", headers=auth(tokens["vic"])).json() == []


def test_the_run_page_redraws_the_conversation_as_turns_are_recorded(
        app_client: TestClient, server: ScriptedLLMServer, tokens: dict[str, str]) -> None:
    server.script(Reply.ok("", tool_calls=[{"id": "c1", "name": "ops__disk_usage",
                                            "arguments": {"path": "/var"}}]),
                  Reply.ok("/var is 91% full."))
    hub = app_client.app.state.services.hub  # type: ignore[attr-defined]
    before = hub.last_id
    started = app_client.post("/api/agents/ops/runs", json={"goal": "how full is /var"},
                              headers=auth(tokens["alice"]))
    run_id = started.json()["id"]
    until(app_client, run_id, tokens["vic"], "succeeded")
    # Each recorded entry was announced, in order, on the event stream the page follows.
    turns = [m.data for m in hub.since(before) if m.kind == "agent.turn"]
    assert [t["kind"] for t in turns] == ["message", "message", "model", "tool", "model",
                                          "end"]
    assert {t["run_id"] for t in turns} == {run_id}
    assert [t["seq"] for t in turns] == list(range(6))
    login(app_client, "vic")
    page = app_client.get(f"/runs/{run_id}").text
    assert f'id="conversation-wrap" data-src="/runs/{run_id}/conversation"' in page
    fragment = app_client.get(f"/runs/{run_id}/conversation")
    assert fragment.status_code == 200
    assert "ops__disk_usage" in fragment.text and "/var is 91% full." in fragment.text
    assert "<html" not in fragment.text  # the fragment only, for app.js to swap in
    script = app_client.get("/static/app.js").text
    assert '"agent.turn"' in script and "conversation-wrap" in script


def test_the_conversation_fragment_of_an_unknown_run_is_not_found(
        app_client: TestClient, tokens: dict[str, str]) -> None:
    login(app_client, "vic")
    assert app_client.get("/runs/nosuchrun/conversation").status_code == 404
