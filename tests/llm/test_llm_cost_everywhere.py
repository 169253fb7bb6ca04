"""One cost, everywhere: a priced call shows the same USD in `aios ask`, the cost ledger, the
LLM span, `aios metrics`, the dashboard's overview and the Prometheus families.

gpt-4o costs $2.50 per million input and $10 per million output tokens (genai-prices), so
1,000 input and 500 output tokens cost $0.0025 + $0.0050 = $0.0075. Before the gateway was
one wrapper stack, spans were recorded before the gateway computed the cost, and every figure
read from spans said $0.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from tests.support import Reply, ScriptedLLMServer
from typer.testing import CliRunner

from aios.app import open_store
from aios.approvals import ApprovalService
from aios.cli.main import app
from aios.llm import CostLedger
from aios.observability.prometheus import prometheus_text
from aios.observability.table import spans
from aios.server.overview import overview
from aios.settings import Settings

EXPECTED = 1000 * 2.50 / 1e6 + 500 * 10.0 / 1e6  # 0.0075
runner = CliRunner()


def _manifest(tmp_path: Path, server: ScriptedLLMServer) -> Path:
    path = tmp_path / "aios.yaml"
    path.write_text(f"""
models:
  gpt4o:
    provider: openai
    model: gpt-4o
    base_url: {server.url}/v1
    api_key_env: TEST_OPENAI_KEY
""")
    return path


async def _figures(settings: Settings) -> dict[str, float]:
    async with open_store(settings) as store:
        ledger = CostLedger(store)
        calls = await ledger.calls()
        await ledger.close()
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(spans.c.cost_usd, spans.c.attributes)
                                       .where(spans.c.kind == "llm"))).all()
        board = await overview(store, ApprovalService(store), active=0)
        text = await prometheus_text(store)
    assert len(calls) == 1 and len(rows) == 1, (calls, rows)
    attributes = rows[0][1] if isinstance(rows[0][1], dict) else json.loads(rows[0][1])
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return {
        "ledger": calls[0].cost_usd,
        "span column": rows[0][0],
        "span attribute": attributes["aios.cost_usd"],
        "dashboard cost today": board.cost_today_usd,
        "prometheus by model": sum(s.value for s in families["aios_llm_model_cost_usd"].samples),
        "prometheus by provider": sum(s.value for s in
                                      families["aios_llm_provider_cost_usd"].samples),
    }


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_a_priced_call_costs_the_same_in_ask_ledger_spans_metrics_dashboard_prometheus(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    with ScriptedLLMServer() as server:
        server.default = (Reply.stream(["Par", "is."], usage=(1000, 500)) if stream
                          else Reply.ok("Paris.", usage=(1000, 500)))
        path = _manifest(tmp_path, server)
        asked = runner.invoke(app, ["ask", "Capital of France?", "--manifest", str(path),
                                    "--json", *(["--stream"] if stream else [])])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.stdout)
    assert answer["usage"]["input_tokens"] == 1000 and answer["usage"]["output_tokens"] == 500
    assert answer["cost_usd"] == pytest.approx(EXPECTED)

    figures = asyncio.run(_figures(Settings()))
    metrics = runner.invoke(app, ["metrics", "--json"])
    assert metrics.exit_code == 0, metrics.output
    llm = next(g for g in json.loads(metrics.stdout)["overall"] if g["key"] == "llm")
    figures["aios metrics"] = llm["cost_usd"]
    assert figures == {name: pytest.approx(EXPECTED) for name in figures}
