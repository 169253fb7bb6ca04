"""The discovery loop end to end on real stores: citations, resume, incremental graphs,
open questions, convergence, autonomy and bad input."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.discovery.conftest import CORPUS, GOLD, MISSION, scripted_llm

from aios.discovery import (
    Budget,
    DiscoveryAgent,
    DiscoveryStore,
    KnowledgeGraph,
    MissionState,
    StepRecord,
    build_mission,
    load_corpus,
    load_gold,
    match_claims,
)
from aios.errors import ActionSuspended, ConfigError, ConflictError, NotFoundError


def _mission(corpus: Path, **fields: Any) -> Any:
    return build_mission(**{"question": MISSION, "sources": [f"corpus:{corpus}"], **fields})


async def _graph(missions: DiscoveryStore, name: str) -> KnowledgeGraph:
    data, _ = await missions.load_graph(name)
    return KnowledgeGraph.from_json(data)


async def test_mission_over_the_example_corpus_cites_a_passage_for_every_claim(
        missions: DiscoveryStore, embedder: Any, corpus: Path) -> None:
    result = await DiscoveryAgent(missions, embedder=embedder).start(
        _mission(corpus, budget={"steps": 200}))
    assert result.status == "stopped"
    assert result.stop_reason.startswith(("exhausted", "converged"))
    graph = await _graph(missions, result.graph)
    texts = {d.id: d.text for d in load_corpus(corpus)}
    claims = graph.claims()
    assert len(claims) > 80
    for claim in claims:
        for source in claim["sources"]:
            assert source["kind"] == "passage"
            assert texts[source["doc_id"]][source["start"]:source["end"]] == source["quote"]
            assert source["passage_id"].startswith(source["doc_hash"][:12])
    score = match_claims(claims, load_gold(GOLD))
    assert score.recall > 0.7 and score.precision > 0.7
    steps = await missions.steps(result.mission_id)
    assert [s["step"] for s in steps] == list(range(1, result.steps + 1))
    assert all(s["tokens"] == 0 and s["cost_usd"] == 0 for s in steps)
    conflicts = [c for c in claims if c["conflicts"]]
    assert {c["object"] for c in conflicts} >= {"1994", "1995"}


async def test_a_step_budget_stops_the_mission_and_resume_continues_at_the_next_step(
        missions: DiscoveryStore, embedder: Any, corpus: Path) -> None:
    agent = DiscoveryAgent(missions, embedder=embedder)
    first = await agent.start(_mission(corpus, budget={"steps": 3}))
    assert (first.status, first.steps, first.stop_reason) == (
        "stopped", 3, "budget: 3 steps reached")
    resumed = await agent.resume(first.mission_id, budget=Budget(steps=6))
    assert resumed.steps == 6
    steps = await missions.steps(first.mission_id)
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5, 6]
    read = [p for s in steps for p in s["passages"]]
    assert len(read) == len(set(read)), "a passage was read twice"
    straight = await agent.start(_mission(corpus, budget={"steps": 6}))
    claims = lambda g: sorted((c["subject"], c["relation"], c["object"])  # noqa: E731
                              for c in g.claims())
    assert claims(await _graph(missions, resumed.graph)) == claims(
        await _graph(missions, straight.graph))


async def test_a_cancelled_mission_resumes_from_its_last_checkpoint(
        missions: DiscoveryStore, embedder: Any, corpus: Path) -> None:
    task: asyncio.Task[Any] | None = None

    def cancel_after_two(record: StepRecord, state: MissionState, graph: KnowledgeGraph) -> None:
        if record.step == 2 and task is not None:
            task.cancel()

    agent = DiscoveryAgent(missions, embedder=embedder, on_step=cancel_after_two)
    task = asyncio.create_task(agent.start(_mission(corpus, budget={"steps": 5})))
    with pytest.raises(asyncio.CancelledError):
        await task
    [record] = await missions.recent(1)
    assert (record.status, record.step) == ("interrupted", 2)
    resumed = await DiscoveryAgent(missions, embedder=embedder).resume(record.id)
    assert resumed.steps == 5
    steps = await missions.steps(record.id)
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5]
    read = [p for s in steps for p in s["passages"]]
    assert len(read) == len(set(read))


async def test_a_named_graph_is_extended_with_new_documents_only(
        missions: DiscoveryStore, embedder: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "kb"
    corpus.mkdir()
    for name in ("corvid_systems.md", "heron_os.md", "gull7.html", "kwame_mensah.txt"):
        shutil.copy(CORPUS / name, corpus / name)
    agent = DiscoveryAgent(missions, embedder=embedder)
    first = await agent.start(_mission(corpus, graph="kb", budget={"steps": 100}))
    before = await _graph(missions, "kb")
    assert first.graph == "kb" and all(before.fully_read(h) for h in before.documents)
    shutil.copy(CORPUS / "tern_skiff.txt", corpus / "tern_skiff.txt")
    second = await agent.start(_mission(corpus, graph="kb", budget={"steps": 100}))
    new_hash = next(d.hash for d in load_corpus(corpus) if d.id == "tern_skiff.txt")
    read = [p for s in await missions.steps(second.mission_id) for p in s["passages"]]
    assert read and all(p.startswith(new_hash[:12]) for p in read)
    after = await _graph(missions, "kb")
    old = {(c["subject"], c["relation"], c["object"]) for c in before.claims()}
    new = {(c["subject"], c["relation"], c["object"]) for c in after.claims()}
    assert old < new
    assert ("Tern Skiff", "released_in", "2014") in new
    (corpus / "heron_os.md").write_text("# Heron OS\n\nHeron OS was released in 1998.\n")
    third = await agent.start(_mission(corpus, graph="kb", budget={"steps": 100}))
    read = [p for s in await missions.steps(third.mission_id) for p in s["passages"]]
    changed = next(d.hash for d in load_corpus(corpus) if d.id == "heron_os.md")
    assert read and all(p.startswith(changed[:12]) for p in read)
    conflicted = [c for c in (await _graph(missions, "kb")).claims()
                  if c["relation"] == "released_in" and c["subject"] == "Heron OS"]
    assert {c["object"] for c in conflicted} == {"1997", "1998"}
    assert all(c["conflicts"] for c in conflicted)


async def test_a_question_nothing_answers_is_an_open_question_not_an_invented_source(
        missions: DiscoveryStore, tmp_path: Path) -> None:
    (tmp_path / "club.txt").write_text("Millbrook Rovers is a football club.\n")
    result = await DiscoveryAgent(missions).start(build_mission(
        question="What is the half-life of tritium?", sources=[f"corpus:{tmp_path}"]))
    assert result.status == "stopped" and result.claims == 0 and result.open_questions == 1
    record = await missions.get(result.mission_id)
    [question] = record.state["open_questions"]
    assert question["question"] == "What is the half-life of tritium?"
    assert "no unread passage" in question["reason"]


async def test_the_mission_stops_when_steps_stop_adding_knowledge(
        missions: DiscoveryStore, tmp_path: Path) -> None:
    for i in range(8):
        (tmp_path / f"copy{i}.txt").write_text(
            f"Report {'I' * (i + 1)}\n\nAlpha Corp was founded by Bob Smith.\n")
    result = await DiscoveryAgent(missions).start(build_mission(
        question="Who founded Alpha Corp?", sources=[f"corpus:{tmp_path}"], patience=2,
        passages_per_step=1, budget={"steps": 50}))
    assert result.stop_reason == "converged: 2 consecutive steps added no claim and no entity"
    assert result.steps < 8


async def test_level_0_asks_before_every_step(missions: DiscoveryStore, corpus: Path) -> None:
    agent = DiscoveryAgent(missions)
    with pytest.raises(ActionSuspended, match="step 1: explore") as caught:
        await agent.start(_mission(corpus, autonomy=0))
    mission_id = (caught.value.reference or "").split(":")[1]
    record = await missions.get(mission_id)
    assert (record.status, record.step) == ("waiting", 0)
    assert [p["key"] for p in record.state["pending"]] == ["step:1"]
    with pytest.raises(ActionSuspended):  # not approved yet: still waiting
        await agent.resume(mission_id)
    await agent.decide(mission_id, approve=True)
    with pytest.raises(ActionSuspended, match="step 2"):
        await agent.resume(mission_id)
    assert [s["step"] for s in await missions.steps(mission_id)] == [1]


async def test_level_1_drops_a_denied_sub_question(missions: DiscoveryStore,
                                                   corpus: Path) -> None:
    agent = DiscoveryAgent(missions)
    with pytest.raises(ActionSuspended, match="new sub-question") as caught:
        await agent.start(_mission(corpus, autonomy=1))
    mission_id = (caught.value.reference or "").split(":")[1]
    [pending] = await agent.decide(mission_id, approve=False)
    with pytest.raises(ActionSuspended) as again:
        await agent.resume(mission_id)
    assert again.value.reference != caught.value.reference
    record = await missions.get(mission_id)
    dropped = [i for i in record.state["frontier"] if i["id"] == pending["subject"]]
    assert dropped[0]["done"] and record.step == 0


async def test_level_3_asks_once_when_the_budget_passes_its_threshold(
        missions: DiscoveryStore, corpus: Path) -> None:
    agent = DiscoveryAgent(missions)
    with pytest.raises(ActionSuspended, match="50% of the budget") as caught:
        await agent.start(_mission(corpus, autonomy=3, approval_threshold=0.5,
                                   budget={"steps": 4}))
    mission_id = (caught.value.reference or "").split(":")[1]
    assert (await missions.get(mission_id)).step == 2
    await agent.decide(mission_id, approve=True)
    result = await agent.resume(mission_id)
    assert (result.status, result.steps) == ("stopped", 4)


async def test_bad_input_fails_before_anything_is_recorded(missions: DiscoveryStore,
                                                          tmp_path: Path) -> None:
    agent = DiscoveryAgent(missions)
    with pytest.raises(NotFoundError, match="does not exist"):
        await agent.start(build_mission(question="who?", sources=[f"corpus:{tmp_path}/no"]))
    with pytest.raises(ConfigError, match="empty"):
        await agent.start(build_mission(question="who?", sources=[f"corpus:{tmp_path}"]))
    (tmp_path / "a.txt").write_text("Alpha Corp is a company.")
    with pytest.raises(ConfigError, match="needs the model gateway"):
        await agent.start(build_mission(question="who?", sources=[f"corpus:{tmp_path}",
                                                                 "model"]))
    with pytest.raises(ConfigError, match="needs the model gateway"):
        await agent.start(build_mission(question="who?", sources=[f"corpus:{tmp_path}"],
                                        extractors=["model"]))
    with pytest.raises(NotFoundError, match="no discovery mission 'nope'"):
        await agent.resume("nope")
    assert await missions.recent() == []


async def test_two_writers_cannot_both_advance_a_mission(missions: DiscoveryStore,
                                                         corpus: Path) -> None:
    result = await DiscoveryAgent(missions).start(_mission(corpus, budget={"steps": 2}))
    record = await missions.get(result.mission_id)
    with pytest.raises(ConflictError, match="advanced by another process"):
        await missions.checkpoint(record.id, expected_step=1, step=2, state=record.state,
                                  status="running", stop_reason=None,
                                  graph_name=record.graph_name, graph=None, graph_version=1)
    _, version = await missions.load_graph(record.graph_name)
    with pytest.raises(ConflictError, match="changed by another mission"):
        await missions.checkpoint(record.id, expected_step=2, step=2, state=record.state,
                                  status="running", stop_reason=None,
                                  graph_name=record.graph_name, graph={"graph": {}},
                                  graph_version=version - 1)


async def test_a_token_budget_stops_the_mission_after_the_step_that_reached_it(
        missions: DiscoveryStore, corpus: Path) -> None:
    result = await DiscoveryAgent(missions, llm=scripted_llm()[1]).start(_mission(
        corpus, extractors=["pattern", "model"], budget={"steps": 50, "tokens": 100}))
    assert (result.steps, result.stop_reason) == (1, "budget: 140 of 100 tokens used")
    [step] = await missions.steps(result.mission_id)
    assert (step["tokens"], step["cost_usd"]) == (140, pytest.approx(0.002))


async def test_a_usd_budget_and_a_time_budget_stop_the_mission(missions: DiscoveryStore,
                                                               corpus: Path) -> None:
    result = await DiscoveryAgent(missions, llm=scripted_llm()[1]).start(_mission(
        corpus, extractors=["pattern", "model"], budget={"steps": 50, "usd": 0.005}))
    assert result.steps == 3 and result.stop_reason.startswith("budget: $0.0060")
    ticks = iter(range(0, 10_000, 10))
    timed = await DiscoveryAgent(missions, clock=lambda: float(next(ticks))).start(
        _mission(corpus, budget={"steps": 50, "seconds": 25}))
    assert (timed.steps, timed.stop_reason) == (3, "budget: 30.0 of 25.0 seconds used")


async def test_level_2_asks_before_each_new_source_and_a_denied_source_is_not_used(
        missions: DiscoveryStore, corpus: Path) -> None:
    model, llm = scripted_llm()
    agent = DiscoveryAgent(missions, llm=llm)
    mission = _mission(corpus, autonomy=2, budget={"steps": 3})
    mission = mission.model_copy(update={"sources": (*mission.sources, "model")})
    with pytest.raises(ActionSuspended, match="use a new source") as caught:
        await agent.start(mission)
    mission_id = (caught.value.reference or "").split(":")[1]
    record = await missions.get(mission_id)
    assert [p["key"] for p in record.state["pending"]] == [f"source:corpus:{corpus}",
                                                           "source:model"]
    await agent.decide(mission_id, approve=True)
    result = await agent.resume(mission_id)
    assert result.steps == 3 and model.requests  # the model was asked once approved
    model2, llm2 = scripted_llm()
    agent2 = DiscoveryAgent(missions, llm=llm2)
    with pytest.raises(ActionSuspended) as caught:
        await agent2.start(mission)
    second = (caught.value.reference or "").split(":")[1]
    await agent2.decide(second, approve=False)
    result = await agent2.resume(second)
    assert result.steps == 0 and model2.requests == []
    assert sorted((await missions.get(second)).state["disabled_sources"]) == [
        f"corpus:{corpus}", "model"]
