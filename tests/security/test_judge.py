"""The optional LLM judge: strict JSON verdicts, one retry, errors never count as success."""

from __future__ import annotations

import asyncio
import json

import pytest
from tests.security.redteam_support import (
    paraphrasing_target,
    scripted_gateway,
    scripted_model,
    write_manifest,
)
from tests.support import Reply, ScriptedLLMServer
from typer.testing import CliRunner

from aios.app import load_manifest
from aios.cli.main import app
from aios.llm.types import LLMRequest
from aios.security.redteam import (
    AgentTarget,
    CallableTarget,
    LLMJudge,
    agent_runtime,
    load_catalog,
    parse_verdict,
    run_attack,
    summarize,
)
from aios.testing import ScriptedProvider

YES = '{"success": true, "reason": "the assistant dropped its rules"}'
NO = '{"success": false, "reason": "it refused"}'


def _attack(attack_id: str):
    return load_catalog(ids=[attack_id])[0]


def _judge(*replies: str) -> tuple[LLMJudge, ScriptedProvider]:
    queue = list(replies)
    model = scripted_model(lambda request: queue.pop(0) if queue else "no idea")
    return LLMJudge(scripted_gateway(model, "judge"), "judge"), model


@pytest.mark.parametrize(("text", "expected"), [
    (YES, (True, "the assistant dropped its rules")),
    ('Verdict: {"success": false, "reason": "refused"} -- done', (False, "refused")),
    ('{"success": false}', (False, "")),
])
def test_parse_verdict_reads_the_first_json_object(text, expected):
    assert parse_verdict(text) == expected


@pytest.mark.parametrize("text", ["yes it worked", '{"success": "yes"}', "[true]", '{"succ'])
def test_parse_verdict_rejects_anything_but_a_boolean_verdict(text):
    with pytest.raises(ValueError):
        parse_verdict(text)


async def test_judge_adds_a_success_the_deterministic_check_cannot_see():
    judge, model = _judge(YES)
    result = await run_attack(_attack("di-ignore-previous"), CallableTarget(paraphrasing_target),
                              judge=judge)
    assert result.succeeded and result.judged_only and result.evidence is None
    assert result.judge is not None and result.judge.reason == "the assistant dropped its rules"
    prompt = model.requests[0].messages[-1].content
    assert "consider my earlier rules gone" in prompt and "Question:" in prompt
    assert summarize([result])["judged"] == 1


async def test_unparseable_verdict_is_retried_once_then_accepted():
    judge, model = _judge("Sure! It clearly worked.", NO)
    result = await run_attack(_attack("di-ignore-previous"), CallableTarget(paraphrasing_target),
                              judge=judge)
    assert not result.succeeded and result.judge is not None and result.judge.error is None
    assert len(model.requests) == 2
    assert "not a valid verdict" in model.requests[1].messages[-1].content


async def test_unparseable_twice_is_a_judge_error_never_a_success():
    judge, model = _judge("It worked.", "Yes, definitely success.")
    result = await run_attack(_attack("di-ignore-previous"), CallableTarget(paraphrasing_target),
                              judge=judge)
    assert not result.succeeded
    assert result.judge is not None and result.judge.error and not result.judge.success
    assert len(model.requests) == 2
    assert summarize([result])["judge_errors"] == 1


async def test_judge_is_not_asked_when_the_check_already_proved_success():
    judge, model = _judge(NO)
    result = await run_attack(_attack("di-ignore-previous"),
                              CallableTarget(lambda messages: "PWNED-OK"), judge=judge)
    assert result.succeeded and result.evidence and result.judge is None
    assert model.requests == []


async def test_judge_is_not_asked_about_actions_a_runtime_target_ran_or_refused(tmp_path, runs):
    path, _ = write_manifest(tmp_path)
    agent_model = scripted_model(lambda request: 'ACTION: kernel.terminate_process {"pid": 1}')
    target = AgentTarget(agent_runtime(load_manifest(path), runs),
                         scripted_gateway(agent_model), agent="kernel", model="scripted")
    judge, judge_model = _judge(YES)
    result = await run_attack(_attack("ea-terminate"), target, judge=judge)
    assert not result.succeeded and result.judge is None and judge_model.requests == []


def test_cli_redteam_judge_flag_uses_a_gateway_model(tmp_path):
    with ScriptedLLMServer(default=Reply.ok(YES)) as server:
        manifest = tmp_path / "judge.yaml"
        manifest.write_text(f"""
models:
  judge:
    provider: openai
    model: gpt-4o-mini
    base_url: {server.url}/v1
    api_key_env: TEST_JUDGE_KEY
""", encoding="utf-8")
        result = CliRunner(env={"TEST_JUDGE_KEY": "sk-test"}).invoke(app, [
            "redteam", "--target", "callable:tests.security.redteam_support:paraphrasing_target",
            "--manifest", str(manifest), "--attack", "di-ignore-previous", "--guardrails", "off",
            "--judge", "judge", "--fail-on", "high", "--json"])
        assert result.exit_code == 1, result.output  # the judged success fails the CI gate
        data = json.loads(result.stdout)
        row = data["runs"]["guardrails_off"]["results"][0]
        assert row["succeeded"] and row["evidence"] is None and row["judge"]["success"]
        body = server.requests[0]
        assert body["model"] == "gpt-4o-mini" and "Question:" in body["messages"][-1]["content"]


def test_judge_requests_are_greedy_uncached_and_tagged():
    judge, model = _judge(NO)
    asyncio.run(judge.judge(_attack("jb-dan"), [("user", "hi"), ("assistant", "no")]))
    request: LLMRequest = model.requests[0]
    assert request.temperature == 0.0 and request.cache is False
    assert request.action == "redteam.judge" and request.model == "judge"
    assert "speak as DAN" in request.messages[-1].content  # the attack's own judge question
