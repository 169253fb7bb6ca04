"""The same pipeline with a model behind the gateway: an OpenAI-compatible server (scripted,
over real HTTP) plans sub-questions, states claims and extracts them from passages."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.discovery.conftest import CORPUS
from tests.support import Reply, ScriptedLLMServer

from aios.discovery import DiscoveryAgent, DiscoveryStore, KnowledgeGraph, build_mission
from aios.llm import ModelSpec, build_gateway


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as running:
        yield running


def _triples(*rows: tuple[str, str, str]) -> str:
    return json.dumps({"triples": [{"subject": s, "relation": r, "object": o}
                                   for s, r, o in rows]})


async def test_model_planner_source_and_extractor_cite_their_calls_and_are_costed(
        missions: DiscoveryStore, server: ScriptedLLMServer, tmp_path: Path) -> None:
    shutil.copy(CORPUS / "tern_skiff.txt", tmp_path / "tern_skiff.txt")
    server.script(
        Reply.ok("1. What did Tern Robotics build?\n2. banana\n3. Who designed the Tern Skiff?",
                 usage=(100, 20)),
        Reply.ok(_triples(("Tern Skiff", "was developed by", "Tern Robotics"),
                          ("subject", "relation", "object")), usage=(100, 20)),
        Reply.ok(_triples(("Hana Kobayashi", "designed", "Tern Skiff"),
                          ("Tern Skiff", "uses", "Linux")), usage=(100, 20)),
    )
    gateway = build_gateway({"strong": ModelSpec(
        provider="openai", model="gpt-4o-mini", base_url=server.url + "/v1",
        api_key_env="TEST_OPENAI_KEY", timeout=5.0)}, env={"TEST_OPENAI_KEY": "sk-test"})
    try:
        result = await DiscoveryAgent(missions, llm=gateway).start(build_mission(
            question="Who built the Tern Skiff?", sources=[f"corpus:{tmp_path}", "model"],
            extractors=["pattern", "model"], planner="model", passages_per_step=1,
            passage_chars=2000, budget={"steps": 1}))
    finally:
        await gateway.aclose()
    assert result.stop_reason == "budget: 1 steps reached"
    [step] = await missions.steps(result.mission_id)
    calls = {c["purpose"]: c for c in step["model_calls"]}
    assert set(calls) == {"plan", "ask", "extract"}
    assert all(c["error"] is None and c["provider"] == "openai" for c in calls.values())
    assert step["tokens"] == 360 == result.usage["tokens"]
    assert step["cost_usd"] == pytest.approx(sum(c["cost_usd"] for c in calls.values()))
    assert step["planned"] == ["What did Tern Robotics build?", "Who designed the Tern Skiff?"]
    record = await missions.get(result.mission_id)
    assert record.state["planner"]["accepted"] == 2 and record.state["planner"]["rejected"] == 1
    assert record.state["extractors"]["model"]["dropped"] == 1
    data, _ = await missions.load_graph(result.graph)
    claims = KnowledgeGraph.from_json(data).claims()
    by_source = {(s["extractor"], s["kind"]): (c, s) for c in claims for s in c["sources"]}
    claim, source = by_source[("model", "model")]
    assert (claim["subject"], claim["relation"], claim["object"]) == (
        "Tern Robotics", "developed", "Tern Skiff")
    assert source["call_id"] == calls["ask"]["id"] and "passage_id" not in source
    assert source["confidence"] == 0.3  # a claim without a passage is trusted less
    claim, source = by_source[("model", "passage")]
    assert (claim["subject"], claim["relation"], claim["object"]) == (
        "Hana Kobayashi", "designed", "Tern Skiff")
    assert source["call_id"] == calls["extract"]["id"] and source["doc_id"] == "tern_skiff.txt"
    assert not any(c["object"] == "Linux" for c in claims)
    assert ("pattern", "passage") in by_source


async def test_a_failing_model_is_recorded_and_the_pattern_extractor_carries_on(
        missions: DiscoveryStore, server: ScriptedLLMServer, tmp_path: Path) -> None:
    shutil.copy(CORPUS / "gull7.html", tmp_path / "gull7.html")
    server.default = Reply.error(400, "bad request")
    gateway = build_gateway({"strong": ModelSpec(
        provider="openai", model="gpt-4o-mini", base_url=server.url + "/v1",
        api_key_env="TEST_OPENAI_KEY", timeout=5.0)}, env={"TEST_OPENAI_KEY": "sk-test"})
    try:
        result = await DiscoveryAgent(missions, llm=gateway).start(build_mission(
            question="Who makes the Gull-7?", sources=[f"corpus:{tmp_path}"],
            extractors=["pattern", "model"], budget={"steps": 1}))
    finally:
        await gateway.aclose()
    [step] = await missions.steps(result.mission_id)
    assert step["model_calls"] and all(c["error"] for c in step["model_calls"])
    assert step["new_claims"] > 0 and result.claims > 0
