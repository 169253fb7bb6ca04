"""`aios runs show` of an agent run shows its final answer and what its model calls cost,
in the text and in `--json`, with the same figures `aios metrics` reports for them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.agent_cli import aios, call
from tests.support.scripted_llm import Reply, ScriptedLLMServer

MANIFEST = """\
name: paid-agent
models:
  scripted:
    provider: openai
    model: scripted
    base_url: "{url}/v1"
    api_key_env: SCRIPTED_KEY
    capabilities: {{tools: true}}
    prices: {{input: 1.0, output: 4.0}}
agents:
  ops:
    description: keeps disks healthy
    model: scripted
    max_turns: 4
    actions:
      disk_usage:
        handler: "agent_handlers:disk_usage"
        description: How full a path's disk is.
        inputs: {{type: object, properties: {{path: {{type: string}}}}, required: [path]}}
"""

ANSWER = "The disk under /var is 91% full."


def test_runs_show_of_an_agent_run_has_its_answer_tokens_and_cost(tmp_path: Path) -> None:
    home = tmp_path / "home"
    manifest = tmp_path / "agent.yaml"
    with ScriptedLLMServer() as server:
        server.script(Reply.ok("", tool_calls=[call("ops__disk_usage", {"path": "/var"}, "c1")],
                               usage=(100, 10)),
                      Reply.ok(ANSWER, usage=(200, 20)))
        manifest.write_text(MANIFEST.format(url=server.url))
        ran = json.loads(aios("agent", "run", "ops", "how full is /var?", "-m", str(manifest),
                              "--json", home=home).stdout)
    run_id = ran["run_id"]
    # 300 input tokens at $1 and 30 output tokens at $4 per million: $0.00042.
    shown = json.loads(aios("runs", "show", run_id[:12], "--json", home=home).stdout)
    assert shown["agent"] == {"end_reason": "final_answer", "answer": ANSWER}
    assert shown["usage"]["llm_calls"] == 2
    assert (shown["usage"]["input_tokens"], shown["usage"]["output_tokens"]) == (300, 30)
    assert abs(shown["usage"]["cost_usd"] - 0.00042) < 1e-12

    text = aios("runs", "show", run_id[:12], home=home).stdout
    assert "LLM: 2 calls, 300 in + 30 out tokens, $0.00042" in text
    assert "end: final_answer" in text and ANSWER in text

    metrics = json.loads(aios("metrics", "--json", home=home).stdout)
    llm = next(g for g in metrics["overall"] if g["key"] == "llm")
    assert llm["llm_calls"] == shown["usage"]["llm_calls"]
    assert llm["tokens"]["input"] == 300 and llm["tokens"]["output"] == 30
    assert abs(llm["cost_usd"] - shown["usage"]["cost_usd"]) < 1e-12


def test_runs_show_of_a_run_without_model_calls_says_so(tmp_path: Path) -> None:
    home = tmp_path / "home"
    manifest = tmp_path / "m.yaml"
    manifest.write_text("name: quick\nagents:\n  k:\n    description: a probe\n    actions:\n"
                        "      up: {handler: \"kernel.resources\"}\nsequences: {}\n")
    run_id = json.loads(aios("exec", "k.up", "-m", str(manifest), "--json",
                             home=home).stdout)["run_id"]
    shown = json.loads(aios("runs", "show", run_id, "--json", home=home).stdout)
    assert shown["usage"] == {"llm_calls": 0, "input_tokens": 0, "output_tokens": 0,
                              "cost_usd": 0.0}
    assert "agent" not in shown  # not an agent run
    assert "LLM: no calls" in aios("runs", "show", run_id, home=home).stdout
