"""Exports (JSON, GraphML, HTML), the `aios discover` commands and the built-in action."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from tests.discovery.conftest import MISSION
from typer.testing import CliRunner

from aios.cli.main import app
from aios.discovery import (
    DiscoveryAgent,
    DiscoveryStore,
    KnowledgeGraph,
    build_mission,
    export_graph,
)
from aios.discovery.action import explore, mission_id_for
from aios.errors import ActionSuspended, ConfigError
from aios.manifest.schema import Action
from aios.runtime.context import ActionContext
from aios.runtime.handlers import HandlerRegistry
from aios.settings import Settings


@pytest.fixture
async def graph(missions: DiscoveryStore, corpus: Path) -> KnowledgeGraph:
    result = await DiscoveryAgent(missions).start(build_mission(
        question=MISSION, sources=[f"corpus:{corpus}"], budget={"steps": 200}))
    data, _ = await missions.load_graph(result.graph)
    return KnowledgeGraph.from_json(data)


async def test_json_export_has_every_claim_with_its_sources(graph: KnowledgeGraph,
                                                          tmp_path: Path) -> None:
    out = export_graph(graph, "json", tmp_path / "g.json", {"question": MISSION})
    data = json.loads(out.read_text())
    assert len(data["claims"]) == graph.claim_count and data["mission"]["question"] == MISSION
    assert all(c["sources"] for c in data["claims"])


async def test_graphml_export_reads_back_with_scalar_attributes(graph: KnowledgeGraph,
                                                               tmp_path: Path) -> None:
    out = export_graph(graph, "graphml", tmp_path / "g.graphml", {"question": MISSION})
    back = nx.read_graphml(out)
    assert back.number_of_nodes() == graph.entity_count
    assert back.number_of_edges() == graph.claim_count
    _, _, attrs = next(iter(back.edges(data=True)))
    assert isinstance(attrs["confidence"], float) and json.loads(attrs["sources"])
    assert re.match(r".+:\d+-\d+$", attrs["citation"])


async def test_html_export_is_self_contained_and_carries_the_claims(graph: KnowledgeGraph,
                                                                   tmp_path: Path) -> None:
    page = export_graph(graph, "html", tmp_path / "g.html", {"question": MISSION}).read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "no network resources"
    assert "<svg" in page and "function tick()" in page
    payload = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>',
                        page, re.DOTALL)
    assert payload is not None
    data = json.loads(payload.group(1))
    assert len(data["claims"]) == graph.claim_count and len(data["nodes"]) == graph.entity_count


def test_an_unknown_export_format_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="graphml, html, json"):
        export_graph(KnowledgeGraph(), "dot", tmp_path / "g.dot")


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_cli_runs_shows_resumes_and_exports_a_mission(corpus: Path, tmp_path: Path) -> None:
    run = _cli("discover", MISSION, "--source", f"corpus:{corpus}", "--budget-steps", "2",
               "--json")
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout)
    assert (result["status"], result["steps"]) == ("stopped", 2)
    resumed = json.loads(_cli("discover", "--resume", result["mission_id"], "--budget-steps",
                              "4", "--json").stdout)
    assert resumed["steps"] == 4
    shown = json.loads(_cli("discover", "show", result["mission_id"], "--json").stdout)
    assert shown["stop_reason"] == "budget: 4 steps reached"
    assert shown["top_pagerank"] and len(shown["recent_steps"]) == 4
    listed = json.loads(_cli("discover", "show", "--json").stdout)
    assert [m["id"] for m in listed] == [result["mission_id"]]
    human = _cli("discover", "show", result["mission_id"])
    assert "top entities" in human.stdout and "budget: 4 steps reached" in human.stdout
    out = tmp_path / "view.html"
    exported = _cli("discover", "export", result["mission_id"], "--format", "html", "--out",
                    str(out))
    assert exported.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")


def test_cli_approval_flow_at_autonomy_0(corpus: Path) -> None:
    run = _cli("discover", MISSION, "--source", f"corpus:{corpus}", "--autonomy", "0",
               "--json")
    waiting = json.loads(run.stdout)
    assert waiting["status"] == "waiting" and waiting["pending"][0]["key"] == "step:1"
    approved = json.loads(_cli("discover", "approve", waiting["mission_id"], "--json").stdout)
    assert approved["decision"] == "approved"
    again = json.loads(_cli("discover", "--resume", waiting["mission_id"], "--json").stdout)
    assert again["status"] == "waiting" and again["steps"] == 1
    assert again["pending"][0]["key"] == "step:2"


@pytest.mark.parametrize("args, message", [
    (["discover", "m?x", "--source", "corpus:/no/such/dir"], "does not exist"),
    (["discover", "mission", "--source", "web:x"], "unknown source kind 'web'"),
    (["discover", "mission", "--source", "corpus:.", "--budget-steps", "0"], "budget.steps"),
    (["discover", "--resume", "nope"], "no discovery mission 'nope'"),
    (["discover", "show", "nope"], "no discovery mission 'nope'"),
    (["discover", "approve", "nope"], "no discovery mission 'nope'"),
])
def test_cli_bad_input_exits_2_with_a_message(args: list[str], message: str) -> None:
    result = _cli(*args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_cli_empty_corpus_is_reported(tmp_path: Path) -> None:
    result = _cli("discover", "mission", "--source", f"corpus:{tmp_path}")
    assert result.exit_code == 2 and "is empty" in " ".join(result.stderr.split())


def _ctx(args: dict[str, Any], run_id: str = "run1") -> ActionContext:
    return ActionContext(run_id=run_id, action="discovery.explore", step_id="explore",
                         spec=Action(handler="discovery.explore"), args=args, env={})


async def test_the_builtin_action_runs_and_resumes_a_mission(settings: Settings,
                                                            corpus: Path) -> None:
    assert "discovery.explore" in HandlerRegistry.builtin().names()
    args = {"mission": MISSION, "sources": [f"corpus:{corpus}"], "budget": {"steps": 2},
            "store_url": settings.store_url()}
    summary = await explore(_ctx(args))
    assert summary["mission_id"] == mission_id_for("run1", "explore")
    assert (summary["status"], summary["steps"]) == ("stopped", 2)
    more = await explore(_ctx({**args, "budget": {"steps": 3}}))
    assert (more["mission_id"], more["steps"]) == (summary["mission_id"], 3)


async def test_the_builtin_action_suspends_and_a_reexecution_counts_as_approval(
        settings: Settings, corpus: Path) -> None:
    args = {"mission": MISSION, "sources": [f"corpus:{corpus}"], "autonomy": 1,
            "budget": {"steps": 1}, "store_url": settings.store_url()}
    with pytest.raises(ActionSuspended, match="new sub-question") as caught:
        await explore(_ctx(args, "run2"))
    assert caught.value.action == "discovery.explore"
    summary = await explore(_ctx(args, "run2"))
    assert (summary["status"], summary["steps"]) == ("stopped", 1)


async def test_the_builtin_action_needs_a_mission(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="`mission`"):
        await explore(_ctx({"sources": ["corpus:."], "store_url": settings.store_url()}))


def test_the_benchmark_prints_its_curve_against_the_in_order_baseline() -> None:
    import subprocess
    import sys

    from tests.discovery.conftest import ROOT

    done = subprocess.run([sys.executable, str(ROOT / "bench" / "discovery.py"), "--no-model"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, check=True)
    rows = [line for line in done.stdout.splitlines() if re.match(r"\s+\d+ \|", line)]
    assert [int(r.split("|")[0]) for r in rows][:3] == [5, 10, 20]
    assert "curiosity (UCB1)" in done.stdout and "in order (baseline)" in done.stdout
    assert "held-out corpus" in done.stdout
