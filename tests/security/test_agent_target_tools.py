"""The `agent:` red-team target with native tool calls: a scripted OpenAI-format server on
127.0.0.1 answers with tool calls; the actions run through a real Runtime and its gates; the
attack is judged by the calls that executed. A model without tool support keeps the text
protocol."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.security.redteam_support import write_manifest
from tests.support import Reply, ScriptedLLMServer
from typer.testing import CliRunner

from aios.app import load_manifest, open_gateway
from aios.cli.main import app
from aios.security.redteam import AgentTarget, agent_runtime, load_catalog, run_attack

TERMINATE = {"name": "kernel__terminate_process", "arguments": {"pid": 1}}


def with_model(path: Path, url: str, capabilities: str = "") -> Path:
    models = path.parent / "models.yaml"
    models.write_text(path.read_text() + f"""
models:
  scripted:
    provider: openai
    model: gpt-4o-mini
    base_url: {url}/v1
    api_key_env: TEST_REDTEAM_KEY
    {capabilities}
""", encoding="utf-8")
    return models


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_REDTEAM_KEY", "sk-test")


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m["role"] == "tool"]


async def target_for(models: Path, runs: Any, gateway: Any, *, assume_yes: bool
                     ) -> AgentTarget:
    runtime = agent_runtime(load_manifest(models), runs, assume_yes=assume_yes, llm=gateway)
    return AgentTarget(runtime, gateway, agent="kernel", model="scripted")


async def test_tool_calls_run_through_the_gate_and_the_attack_is_judged_by_them(
        tmp_path: Path, runs: Any) -> None:
    path, marker = write_manifest(tmp_path)
    attack = load_catalog(ids=["ea-terminate"])[0]
    with ScriptedLLMServer() as server:
        server.script(Reply.ok("On it.", tool_calls=[{**TERMINATE, "id": "c1"}]),
                      Reply.ok("I could not: it needs confirmation."))
        models = with_model(path, server.url)
        async with open_gateway(load_manifest(models)) as gateway:
            target = await target_for(models, runs, gateway, assume_yes=False)
            held = await run_attack(attack, target)
        assert await target.uses_tools()
        first, second = server.requests[0], server.requests[1]
    assert not held.succeeded and not marker.exists()
    tools = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert set(tools) == {"kernel__list_processes", "kernel__terminate_process"}
    assert tools["kernel__terminate_process"]["parameters"]["properties"] == {
        "pid": {"type": "integer"}}
    assert "ACTION: agent.key" not in first["messages"][0]["content"]  # no text protocol
    assert "by calling one of your tools" in first["messages"][0]["content"]
    (result,) = tool_results(second)
    assert result["tool_call_id"] == "c1" and "skipped" in result["content"]
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == TERMINATE["name"]
    actions = [text for role, text in held.transcript if role == "action"]
    assert actions and "kernel.terminate_process {\"pid\": 1} -> skipped" in actions[0]


async def test_with_the_gate_open_the_called_tool_executes_and_the_attack_succeeds(
        tmp_path: Path, runs: Any) -> None:
    path, marker = write_manifest(tmp_path)
    attack = load_catalog(ids=["ea-terminate"])[0]
    with ScriptedLLMServer() as server:
        server.script(Reply.ok("", tool_calls=[{**TERMINATE, "id": "c1"},
                                               {"name": "kernel__nuke", "arguments": {},
                                                "id": "c2"}]),
                      Reply.ok("Done."))
        models = with_model(path, server.url)
        async with open_gateway(load_manifest(models)) as gateway:
            target = await target_for(models, runs, gateway, assume_yes=True)
            result = await run_attack(attack, target)
        answers = tool_results(server.requests[1])
    assert result.succeeded and result.evidence == "kernel.terminate_process was executed"
    assert json.loads(marker.read_text().splitlines()[0])["args"] == {"pid": 1}
    assert [a["tool_call_id"] for a in answers] == ["c1", "c2"]
    assert "there is no tool 'kernel__nuke'" in answers[1]["content"]  # invented: refused


async def test_a_model_without_tools_keeps_the_text_protocol(tmp_path: Path, runs: Any) -> None:
    path, marker = write_manifest(tmp_path)
    attack = load_catalog(ids=["ea-terminate"])[0]
    with ScriptedLLMServer(default=Reply.ok(
            'Right away.\nACTION: kernel.terminate_process {"pid": 1}')) as server:
        models = with_model(path, server.url, "capabilities: {tools: false}")
        async with open_gateway(load_manifest(models)) as gateway:
            target = await target_for(models, runs, gateway, assume_yes=True)
            result = await run_attack(attack, target)
        first = server.requests[0]
    assert not await target.uses_tools()
    assert "tools" not in first and "ACTION: agent.key" in first["messages"][0]["content"]
    assert result.succeeded and marker.exists()


def test_cli_redteam_agent_target_with_native_tool_calls(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path, marker = write_manifest(tmp_path)
    with ScriptedLLMServer(default=Reply.ok("Right away.", tool_calls=[TERMINATE])) as server:
        models = with_model(path, server.url)
        monkeypatch.setenv("AIOS_HOME", str(tmp_path / "home"))
        result = CliRunner().invoke(app, [
            "redteam", "--target", "agent:#kernel@scripted", "--manifest", str(models),
            "--attack", "ea-terminate", "--guardrails", "off", "--fail-on", "critical",
            "--json"])
        assert result.exit_code == 0, result.output
        assert server.requests and all("tools" in body for body in server.requests)
    off = json.loads(result.stdout)["runs"]["guardrails_off"]
    assert off["summary"]["attacks"] == 1 and off["summary"]["succeeded"] == 0
    actions = [t for t in off["results"][0]["transcript"] if t["role"] == "action"]
    assert actions and "-> skipped" in actions[0]["content"]
    assert not marker.exists()
