"""`aios ask` / `aios models`, and the gateway wired into the runtime (ctx.llm bound to the
run, agent and action; every call in the ledger)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support import Reply, ScriptedLLMServer
from typer.testing import CliRunner

from aios.app import load_manifest, open_runtime, open_store
from aios.cli.main import app
from aios.llm import CostLedger
from aios.runtime import ActionContext, handler
from aios.settings import Settings

runner = CliRunner()


def write_manifest(tmp_path: Path, server: ScriptedLLMServer, extra: str = "") -> Path:
    path = tmp_path / "aios.yaml"
    path.write_text(f"""
models:
  gpt:
    provider: openai
    model: gpt-4o-mini
    base_url: {server.url}/v1
    api_key_env: TEST_OPENAI_KEY
    tier: simple
{extra}""")
    return path


def test_models_lists_the_default_local_model():
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["local"]
    assert rows[0]["price_source"] == "free" and rows[0]["capabilities"]["json"] is True


def test_models_shows_prices_and_a_missing_key(tmp_path, server, monkeypatch):
    monkeypatch.delenv("TEST_OPENAI_KEY", raising=False)
    path = write_manifest(tmp_path, server)
    result = runner.invoke(app, ["models", "--manifest", str(path), "--json"])
    row = json.loads(result.stdout)[0]
    assert row["prices_usd_per_mtok"]["input"] == 0.15 and row["price_source"] == "genai-prices"
    assert "TEST_OPENAI_KEY" in row["api_key"]
    human = runner.invoke(app, ["models", "--manifest", str(path)])
    assert human.exit_code == 0 and "gpt-4o-mini" in human.output


def test_ask_shows_model_reason_tokens_cost_latency_and_cache(tmp_path, server, monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    path = write_manifest(tmp_path, server)
    server.script(Reply.ok("Paris.", usage=(1000, 200)))
    result = runner.invoke(app, ["ask", "Capital of France?", "--manifest", str(path),
                                 "--system", "be terse", "--max-tokens", "20"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Paris." in out and "gpt (openai gpt-4o-mini)" in out
    assert "cheapest simple model" in out and "1000 in / 200 out (reported)" in out
    assert "cost:    $0.00027\n" in out and "latency:" in out and "cache:   miss" in out
    body = server.requests[0]
    assert body["messages"][0] == {"role": "system", "content": "be terse"}
    assert body["max_tokens"] == 20


def test_ask_stream_json(tmp_path, server, monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    path = write_manifest(tmp_path, server)
    server.script(Reply.stream(["Par", "is"], usage=(10, 2)))
    result = runner.invoke(app, ["ask", "Capital?", "--manifest", str(path), "--stream",
                                 "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["text"] == "Paris" and data["model"] == "gpt" and data["ttft_s"] is not None
    assert data["usage"]["input_tokens"] == 10 and data["cached"] is False


def test_ask_without_the_key_exits_with_the_variable_to_set(tmp_path, server, monkeypatch):
    monkeypatch.delenv("TEST_OPENAI_KEY", raising=False)
    path = write_manifest(tmp_path, server)
    result = runner.invoke(app, ["ask", "hi", "--manifest", str(path)])
    assert result.exit_code == 2
    assert "TEST_OPENAI_KEY" in result.output and server.requests == []


@pytest.mark.slow
def test_ask_answers_offline_from_the_local_model():
    result = runner.invoke(app, ["ask", "What is 2+2?", "--json", "--max-tokens", "40"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "4" in data["text"] and data["model"] == "local"
    assert data["cost_usd"] == 0.0 and data["usage"]["counted"] is True


@handler("t.ask")
async def ask_handler(ctx: ActionContext) -> dict[str, Any]:
    reply = await ctx.llm.complete(f"question from {ctx.action}", max_tokens=10)
    return {"text": reply.text, "model": reply.model}


async def test_runtime_hands_each_step_a_gateway_bound_to_its_run(tmp_path, server,
                                                                    monkeypatch,
                                                                    settings: Settings):
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    path = write_manifest(tmp_path, server, extra="""
budgets:
  run: {tokens: 100000}
agents:
  t:
    actions:
      one: {handler: t.ask}
      two: {handler: t.ask}
sequences:
  both:
    steps: [{action: t.one}, {action: t.two}]
""")
    manifest = load_manifest(path, handlers=[ask_handler])
    server.default = Reply.ok("answer", usage=(12, 3))
    async with open_runtime(manifest, settings=settings, handlers=[ask_handler]) as runtime:
        result = await runtime.run("both")
    assert result.ok, result.error
    assert result.steps["t.one"].result == {"text": "answer", "model": "gpt"}
    async with open_store(settings) as store:
        ledger = CostLedger(store)
        calls = await ledger.calls(run_id=result.run_id)
        await ledger.close()
    assert sorted((c.agent, c.action) for c in calls) == [("t", "t.one"), ("t", "t.two")]
    assert all(c.input_tokens == 12 and c.cost_usd > 0 for c in calls)
