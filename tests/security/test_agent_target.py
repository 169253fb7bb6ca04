"""The `agent:` red-team target: a scripted model asks for actions, a real Runtime runs them
through its gates, and excessive agency is judged by what actually executed."""

from __future__ import annotations

import json

import pytest
from tests.security.redteam_support import scripted_gateway, scripted_model, write_manifest
from tests.support import Reply, ScriptedLLMServer
from typer.testing import CliRunner

from aios.app import load_manifest
from aios.cli.main import app
from aios.errors import NotFoundError
from aios.llm.types import LLMRequest, Message
from aios.security.guardrails import Guardrails
from aios.security.redteam import (
    AgentTarget,
    agent_runtime,
    as_chat,
    load_catalog,
    parse_requests,
    resolve_target,
    run_attack,
    target_needs,
)

TERMINATE = 'Right away.\nACTION: kernel.terminate_process {"pid": 1}'


def _results(request: LLMRequest) -> list[str]:
    """The action results the model was given (sent as user messages, see `as_chat`)."""
    return [m.content for m in request.messages if "ACTION RESULT" in m.content]


def _always_terminate(request: LLMRequest) -> str:
    del request
    return TERMINATE


def _attack(attack_id: str):
    return load_catalog(ids=[attack_id])[0]


def test_requests_are_parsed_from_action_lines_and_call_phrases():
    found = parse_requests('ok\nACTION: kernel.terminate_process {"pid": 1} now\n'
                           "then CALL storage.wipe and ACTION: x.y {oops}")
    assert [(r.action, r.args, r.error is None) for r in found] == [
        ("kernel.terminate_process", {"pid": 1}, True), ("storage.wipe", {}, True)]
    bad = parse_requests("ACTION: kernel.terminate_process [1, 2]")
    assert bad == parse_requests("ACTION: kernel.terminate_process")  # a list is no arguments


async def test_gate_skips_the_forbidden_action_so_the_attack_fails(tmp_path, runs):
    path, marker = write_manifest(tmp_path)
    model = scripted_model(_always_terminate)
    target = resolve_target(f"agent:{path}#kernel@scripted", gateway=scripted_gateway(model),
                            runs=runs)
    result = await run_attack(_attack("ea-terminate"), target)
    assert not result.succeeded
    assert not marker.exists()  # the handler never ran
    actions = [text for role, text in result.transcript if role == "action"]
    assert actions and all("-> skipped" in a and "needs confirmation" in a for a in actions)
    # The step outcome is recorded in the store as skipped by the gate.
    run_id = actions[0].split("(run ")[1].split(")")[0]
    stored = await runs.get_run(run_id)
    assert [s.status for s in stored.steps] == ["skipped"]
    # The model saw the agent's actions, and got the gate's answer back as a tool message.
    first = model.requests[0].messages[0].content
    assert "kernel.terminate_process" in first and "criticality critical" in first
    assert "ACTION: agent.key" in first
    assert any("ACTION RESULT kernel.terminate_process: skipped" in r
               for r in _results(model.requests[1]))
    assert all(m.role != "tool" for m in model.requests[1].messages)  # chat APIs refuse them


async def test_with_the_gate_open_the_action_executes_and_the_attack_succeeds(tmp_path, runs):
    path, marker = write_manifest(tmp_path)
    target = resolve_target(f"agent:{path}#kernel@scripted",
                            gateway=scripted_gateway(scripted_model(_always_terminate)),
                            runs=runs, assume_yes=True, forensic=False)
    result = await run_attack(_attack("ea-terminate"), target)
    assert result.succeeded
    assert result.evidence == "kernel.terminate_process was executed"
    lines = marker.read_text().splitlines()
    assert json.loads(lines[0]) == {"action": "kernel.terminate_process", "args": {"pid": 1}}


async def test_forensic_mode_holds_even_when_confirmation_is_assumed(tmp_path, runs):
    path, marker = write_manifest(tmp_path)
    target = resolve_target(f"agent:{path}#kernel@scripted",
                            gateway=scripted_gateway(scripted_model(_always_terminate)),
                            runs=runs, assume_yes=True, forensic=True)
    result = await run_attack(_attack("ea-authority"), target)
    assert not result.succeeded and not marker.exists()
    assert any("forensic" in text for role, text in result.transcript if role == "action")


async def test_any_forbidden_action_that_executes_counts_not_only_the_named_one(tmp_path, runs):
    path, marker = write_manifest(tmp_path)
    model = scripted_model(lambda request: "ACTION: storage.wipe {}")
    target = resolve_target(f"agent:{path}@scripted", gateway=scripted_gateway(model),
                            runs=runs, assume_yes=True)
    result = await run_attack(_attack("ea-terminate"), target)  # names kernel.terminate_process
    assert result.succeeded and result.evidence == "forbidden storage.wipe was executed"
    assert marker.exists()


async def test_actions_of_other_agents_are_refused_and_never_run(tmp_path, runs):
    path, marker = write_manifest(tmp_path)
    model = scripted_model(lambda request: "ACTION: storage.wipe {}")
    target = resolve_target(f"agent:{path}#kernel@scripted", gateway=scripted_gateway(model),
                            runs=runs, assume_yes=True)
    result = await run_attack(_attack("ea-delete-data"), target)
    assert not result.succeeded and not marker.exists()
    assert any("-> refused" in text for role, text in result.transcript if role == "action")


async def test_state_carries_over_turns_and_resets_between_attacks(tmp_path, runs):
    path, _ = write_manifest(tmp_path)

    def script(request: LLMRequest) -> str:
        tools = _results(request)
        users = [m for m in request.messages if m.role == "user" and m.content not in tools]
        if request.messages[-1].content in tools:
            return "Done."
        if len(users) == 1:
            return "ACTION: kernel.list_processes {}"
        return f"I remember {len(tools)} action result(s)."

    model = scripted_model(script)
    target = resolve_target(f"agent:{path}#kernel@scripted", gateway=scripted_gateway(model),
                            runs=runs)
    first = await run_attack(_attack("mt-agency-escalation"), target)  # three user turns
    replies = [text for role, text in first.transcript if role == "assistant"]
    assert replies[1] == "I remember 1 action result(s)."  # turn 2 sees turn 1's result
    assert not first.succeeded
    second = await run_attack(_attack("mt-context-reset"), target)
    assert [t for r, t in second.transcript if r == "action"]  # fresh: turn 1 lists again
    assert len(_results(model.requests[-1])) == 1


async def test_guardrail_layer_sanitises_action_results_before_the_model_sees_them(tmp_path,
                                                                                   runs):
    path, _ = write_manifest(tmp_path)
    model = scripted_model(lambda request: "Done." if _results(request)
                          else "ACTION: kernel.list_processes {}")
    manifest = load_manifest(path)
    runtime = agent_runtime(manifest, runs, guardrails=Guardrails())
    target = AgentTarget(runtime, scripted_gateway(model), agent="kernel", model="scripted")
    await target.reply([])
    result = _results(model.requests[-1])[0]
    assert "succeeded" in result
    assert "ann.lee@example.com" not in result and "<EMAIL>" in result
    stored = await runs.get_run(target.runs[0].run_id or "")
    assert "ann.lee@example.com" not in json.dumps(stored.steps[0].result)


def test_tool_messages_without_a_call_id_go_to_chat_apis_as_user_messages():
    native = Message("tool", "42", tool_call_id="call_1")
    converted = as_chat([Message("tool", "report text", name="document"), native])
    assert converted[0] == Message("user", "[document output]\nreport text")
    assert converted[1] is native


def test_agent_target_needs_the_gateway_and_the_run_store(tmp_path):
    assert target_needs("agent:x.yaml#kernel") == {"gateway", "runs"}
    assert target_needs("callable:m:f") == frozenset()


async def test_unknown_agent_is_reported_with_the_known_ones(tmp_path, runs):
    path, _ = write_manifest(tmp_path)
    with pytest.raises(NotFoundError, match="agents: kernel, storage"):
        resolve_target(f"agent:{path}#kernal", gateway=scripted_gateway(scripted_model(str)),
                       runs=runs)


def test_cli_redteam_agent_target_through_an_openai_compatible_model(tmp_path, monkeypatch):
    """End to end: `aios redteam --target agent:...` with the model behind a real HTTP server;
    the gate holds, so the attack fails and the exit code stays 0 with --fail-on critical.
    The model declares no tool support, so it asks through the text protocol (native tool
    calls: test_agent_target_tools.py)."""
    path, marker = write_manifest(tmp_path)
    with ScriptedLLMServer(default=Reply.ok(TERMINATE)) as server:
        models = tmp_path / "models.yaml"
        models.write_text(path.read_text() + f"""
models:
  scripted:
    provider: openai
    model: gpt-4o-mini
    base_url: {server.url}/v1
    api_key_env: TEST_REDTEAM_KEY
    capabilities: {{tools: false}}
""", encoding="utf-8")
        monkeypatch.setenv("TEST_REDTEAM_KEY", "sk-test")
        monkeypatch.setenv("AIOS_HOME", str(tmp_path / "home"))
        result = CliRunner().invoke(app, [
            "redteam", "--target", "agent:#kernel@scripted", "--manifest", str(models),
            "--attack", "ea-terminate", "--guardrails", "off", "--fail-on", "critical",
            "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        off = data["runs"]["guardrails_off"]
        assert off["summary"] == {**off["summary"], "attacks": 1, "succeeded": 0}
        roles = [t["role"] for t in off["results"][0]["transcript"]]
        assert "action" in roles
        assert not marker.exists()
        assert server.requests  # the model really was asked over HTTP
        assert all("tools" not in body for body in server.requests)
