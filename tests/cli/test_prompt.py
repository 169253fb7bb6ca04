"""`aios prompt`: the agent loop plans when a tool-calling model is configured, the matcher
otherwise; every argument shows its source; a change whose required argument the request does
not give is refused, naming the argument, and never runs on a default or a model's guess.

The model is a scripted OpenAI-format server on 127.0.0.1; the mutating handler appends to a
counter file, so "not run" is checked on the side effect itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.scripted_llm import Reply, ScriptedLLMServer
from typer.testing import CliRunner

from aios.cli.main import app

runner = CliRunner()

ACTIONS = """\
    actions:
      disk_usage:
        handler: "tests.e2e.agent_handlers:disk_usage"
        description: How full the disk of a path is.
        inputs: {{type: object, properties: {{path: {{type: string}}}}, required: [path]}}
      cleanup:
        handler: "tests.e2e.agent_handlers:cleanup"
        description: Delete temporary files older than some days under a path.
        mutates: true
        criticality: {criticality}
        inputs:
          type: object
          properties: {{path: {{type: string}}, older_than_days: {{type: number}}}}
          required: [path]
"""

WITH_MODEL = """\
env: {{COUNTER: "{counter}"}}
models:
  scripted:
    provider: openai
    model: scripted
    base_url: "{url}/v1"
    api_key_env: SCRIPTED_KEY
    capabilities: {{tools: true}}
    prices: {{input: 0, output: 0}}
guardrails: {{agents: {{ops: {{injection: flag}}}}}}
agents:
  ops:
    description: keeps disks healthy
    model: scripted
    max_turns: 4
""" + ACTIONS

WITHOUT_MODEL = """\
env: {{COUNTER: "{counter}"}}
agents:
  disks:
    description: disk space on this host
""" + ACTIONS


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTED_KEY", "x")


def write(tmp_path: Path, template: str, *, url: str = "", criticality: str = "high") -> Path:
    path = tmp_path / "prompt.yaml"
    path.write_text(template.format(counter=tmp_path / "counter.txt", url=url,
                                    criticality=criticality))
    return path


def counted(tmp_path: Path) -> list[str]:
    path = tmp_path / "counter.txt"
    return path.read_text().splitlines() if path.exists() else []


def prompt(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["prompt", "--json", *args])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"id": call_id, "name": f"ops__{name}", "arguments": args}


def test_with_a_tool_calling_model_the_agent_loop_plans_and_the_gates_hold(
        tmp_path: Path, server: ScriptedLLMServer) -> None:
    manifest = write(tmp_path, WITH_MODEL, url=server.url)
    server.script(
        Reply.ok("", tool_calls=[call("disk_usage", {"path": "/var"}, "a"),
                                 call("cleanup", {"path": "/var/tmp", "older_than_days": 30},
                                      "b")]),
        Reply.ok("unreachable: the cleanup waits for a person"))
    code, out = prompt("check /var, then clean /var/tmp of files older than 30 days",
                       "-m", str(manifest))
    assert code == 0 and out["mode"] == "agent" and out["agent"] == "ops"
    calls = {c["action"]: c for c in out["calls"]}
    assert calls["ops.disk_usage"]["args"] == {"path": {"value": "/var", "source": "request"}}
    assert calls["ops.disk_usage"]["status"] == "succeeded"
    assert calls["ops.cleanup"]["args"] == {
        "path": {"value": "/var/tmp", "source": "request"},
        "older_than_days": {"value": 30, "source": "request"}}
    # Grounded in the request, the high-criticality change still waits for a person.
    assert calls["ops.cleanup"]["status"] == "waiting" and calls["ops.cleanup"]["refused"] is None
    assert out["run"]["status"] == "waiting" and len(out["requests"]) == 1
    assert counted(tmp_path) == [] and len(server.requests) == 1
    tools = {t["function"]["name"] for t in server.requests[0]["tools"]}
    assert tools == {"ops__disk_usage", "ops__cleanup"}


def test_a_change_on_a_value_the_model_chose_is_refused_and_the_model_is_told_why(
        tmp_path: Path, server: ScriptedLLMServer) -> None:
    manifest = write(tmp_path, WITH_MODEL, url=server.url, criticality="low")
    server.script(
        Reply.ok("", tool_calls=[call("cleanup", {"path": "/var/tmp"}, "a")]),
        Reply.ok("Which directory should I clean?"))
    code, out = prompt("free some disk space", "-m", str(manifest))
    assert code == 1  # the request was not carried out
    assert counted(tmp_path) == []  # a low-criticality change, yet not run on a guess
    (cleanup,) = out["calls"]
    assert cleanup["args"]["path"] == {"value": "/var/tmp", "source": "model"}
    assert cleanup["status"] == "invalid_arguments" and "`path`" in cleanup["refused"]
    told = server.requests[1]["messages"][-1]
    assert told["role"] == "tool" and "`path`" in told["content"]
    assert "not in the request" in told["content"]
    assert out["run"]["agent"]["answer"] == "Which directory should I clean?"


def test_the_request_check_holds_after_a_resume(tmp_path: Path,
                                                server: ScriptedLLMServer) -> None:
    manifest = write(tmp_path, WITH_MODEL, url=server.url)
    server.script(
        Reply.ok("", tool_calls=[call("cleanup", {"path": "/var/tmp"}, "a")]),
        Reply.ok("", tool_calls=[call("cleanup", {"path": "/srv"}, "b")]),
        Reply.ok("Done with /var/tmp."))
    code, out = prompt("clean /var/tmp", "-m", str(manifest))
    assert code == 0 and out["run"]["status"] == "waiting"
    approver = runner.invoke(app, ["users", "add", "alice", "--role", "approver"])
    assert approver.exit_code == 0, approver.output
    token = runner.invoke(app, ["users", "token", "alice", "--expires", "1h"]).stdout.strip()
    decided = runner.invoke(app, ["approvals", "approve", out["requests"][0], "--token", token])
    assert decided.exit_code == 0, decided.output
    resumed = runner.invoke(app, ["runs", "resume", out["run"]["run_id"], "--json",
                                  "-m", str(manifest)])
    assert resumed.exit_code == 0, resumed.output
    record = json.loads(resumed.stdout)
    assert record["agent"]["answer"] == "Done with /var/tmp."
    # The approved call ran once; the resumed run still refused the model's /srv.
    assert [line.split()[-1] for line in counted(tmp_path)] == ["/var/tmp"]
    statuses = [(e["action"] if "action" in e else e["tool"], e["status"])
                for e in record["agent"]["conversation"] if e["kind"] == "tool"]
    assert statuses == [("ops.cleanup", "succeeded"), ("ops__cleanup", "invalid_arguments")]


def test_without_a_model_the_matcher_reads_arguments_from_the_request(tmp_path: Path) -> None:
    manifest = write(tmp_path, WITHOUT_MODEL, criticality="low")
    code, out = prompt("delete temporary files older than 30 days under /var/tmp",
                       "-m", str(manifest))
    assert code == 0 and out["mode"] == "match"
    (cleanup,) = out["calls"]
    assert cleanup["action"] == "disks.cleanup" and cleanup["refused"] is None
    assert cleanup["args"] == {"path": {"value": "/var/tmp", "source": "request"},
                               "older_than_days": {"value": 30, "source": "request"}}
    assert [r["status"] for r in out["runs"]] == ["succeeded"]
    assert [line.split()[-1] for line in counted(tmp_path)] == ["/var/tmp"]


def test_without_a_model_a_change_missing_its_argument_is_refused_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    manifest = write(tmp_path, WITHOUT_MODEL, criticality="low")
    human = runner.invoke(app, ["prompt", "delete old temporary files", "-m", str(manifest)])
    assert human.exit_code == 1
    assert "not run" in human.stdout and "`path`" in human.stdout
    assert "path=null (missing)" in human.stdout
    code, out = prompt("delete old temporary files", "-m", str(manifest))
    assert code == 1
    (cleanup,) = out["calls"]
    assert cleanup["args"]["path"] == {"value": None, "source": "missing"}
    assert "`path`" in cleanup["refused"] and out["runs"] == []
    assert counted(tmp_path) == []


def test_dry_run_and_no_model_plan_without_asking_the_model(
        tmp_path: Path, server: ScriptedLLMServer) -> None:
    manifest = write(tmp_path, WITH_MODEL, url=server.url)
    for flag in ("--dry-run", "--no-model"):
        code, out = prompt("how full is the disk of /home", flag, "-m", str(manifest))
        assert code == 0 and out["mode"] == "match"
        assert out["calls"][0]["action"] == "ops.disk_usage"
        assert out["calls"][0]["args"] == {"path": {"value": "/home", "source": "request"}}
    assert server.requests == []
    assert counted(tmp_path) == []
