"""Discovery: recall and precision of the claims found as the step budget grows.

Prints, in one run, a curve over budgets of 5, 10, 20, 40, ... steps (until the corpus is
exhausted) for

  * the curiosity agent (UCB1 over the frontier) and a baseline that reads the corpus's
    passages in path order, the same number per step, with the same extractors and graph;
  * the deterministic pattern extractor over the whole curve, and the local model
    (SmolLM2-135M through the gateway) as extractor and planner for the first
    `--model-steps` steps; the claims of the combined run are also scored per extractor
    (from each claim's provenance), so the model's own contribution is measured.

Recall is over the gold facts (all of them, and the `tech` topic the mission asks about);
precision is the share of claims matching a gold fact (see `aios.discovery.evaluate`).

Run: .venv/bin/python bench/discovery.py [--model-steps N] [--no-model] [--model NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aios.discovery import (
    DiscoveryAgent,
    DiscoveryStore,
    KnowledgeGraph,
    MissionState,
    StepRecord,
    build_mission,
    load_gold,
    match_claims,
)
from aios.discovery.evaluate import GoldFact
from aios.discovery.extract import ExtractorDeps, make_extractor
from aios.discovery.sources import CorpusSource, SourceContext
from aios.embeddings import EmbeddingService
from aios.store import Store

HERE = Path(__file__).resolve().parent.parent / "examples" / "discovery"
MISSION = "Who founded the technology companies of Kestrel Bay, and what did they build?"

Snapshot = dict[int, list[dict[str, Any]]]


def budgets(limit: int) -> list[int]:
    """5, 10, 20, 40, ... up to and including `limit`."""
    out, n = [], 5
    while n < limit:
        out.append(n)
        n *= 2
    return [*out, limit]


async def curiosity(store: Store, corpus: Path, extractors: list[str], steps: int,
                    llm: Any, embedder: Any, planner: str) -> tuple[Snapshot, dict[str, Any]]:
    """Run the agent; snapshot the claims after every step."""
    snaps: Snapshot = {}

    def keep(record: StepRecord, state: MissionState, graph: KnowledgeGraph) -> None:
        snaps[record.step] = graph.claims()

    started = time.perf_counter()
    result = await DiscoveryAgent(DiscoveryStore(store), llm=llm, embedder=embedder,
                                  on_step=keep).start(build_mission(
        question=MISSION, sources=[f"corpus:{corpus}"], extractors=extractors,
        planner=planner, budget={"steps": steps}, patience=1000))
    record = await DiscoveryStore(store).get(result.mission_id)
    return snaps, {"steps": result.steps, "seconds": time.perf_counter() - started,
                   "tokens": int(result.usage["tokens"]), "stop": result.stop_reason,
                   "planner": record.state["planner"], "extractors": record.state["extractors"]}


async def in_order(corpus: Path, extractors: list[str], steps: int, llm: Any,
                   embedder: Any, per_step: int = 2) -> tuple[Snapshot, dict[str, Any]]:
    """The baseline: passages in corpus order, `per_step` at a time, no policy."""
    graph = KnowledgeGraph(embedder)
    source = CorpusSource(str(corpus), MISSION)
    await source.open(SourceContext(graph=graph, embedder=embedder))
    tools = [make_extractor(name, ExtractorDeps(llm)) for name in extractors]
    passages = source.passages()
    snaps: Snapshot = {}
    started, tokens = time.perf_counter(), 0
    for step in range(1, steps + 1):
        batch = passages[(step - 1) * per_step: step * per_step]
        if not batch:
            break
        for passage in batch:
            for tool in tools:
                got = await tool.extract(passage, source.context(passage))
                tokens += sum(c.tokens for c in got.calls)
                for claim in got.claims:
                    graph.add(claim, step)
        snaps[step] = graph.claims()
    return snaps, {"steps": len(snaps), "seconds": time.perf_counter() - started,
                   "tokens": tokens}


def at(snaps: Snapshot, step: int) -> list[dict[str, Any]]:
    """The claims known after `step` steps (the last snapshot when the run ended sooner)."""
    known = [s for s in snaps if s <= step]
    return snaps[max(known)] if known else []


def only(claims: list[dict[str, Any]], extractor: str) -> list[dict[str, Any]]:
    """The claims at least one source of which came from `extractor`."""
    return [c for c in claims if any(s["extractor"] == extractor for s in c["sources"])]


def cell(claims: list[dict[str, Any]], gold: list[GoldFact], tech: list[GoldFact]) -> str:
    score, topic = match_claims(claims, gold), match_claims(claims, tech)
    return (f"{score.recall:5.1%} {topic.recall:5.1%} {score.precision:5.1%} "
            f"{score.claims:4d}")


def table(title: str, points: list[int], columns: dict[str, Callable[[int], str]]) -> None:
    print(f"\n{title}")
    head = "".join(f" | {name:^26}" for name in columns)
    print(f"{'steps':>5}{head}")
    print(f"{'':>5}" + " | recall tech   prec claims" * len(columns))
    for step in points:
        print(f"{step:>5}" + "".join(f" | {fn(step):>26}" for fn in columns.values()))


async def main(args: argparse.Namespace) -> None:
    corpus, gold = HERE / "corpus", load_gold(HERE / "gold.jsonl")
    tech = [g for g in gold if g.topic == "tech"]
    embedder = EmbeddingService.open()  # the shared service (wordllama)
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp}/bench.db")
        try:
            agent, a_info = await curiosity(store, corpus, ["pattern"], 10_000, None, embedder,
                                            "fallback")
            base, b_info = await in_order(corpus, ["pattern"], 10_000, None, embedder)
            limit = max(a_info["steps"], b_info["steps"])
            print(f"corpus: {corpus} | gold: {len(gold)} facts ({len(tech)} tech) | "
                  f"mission: {MISSION!r}")
            print(f"pattern extractor: curiosity {a_info['steps']} steps to exhaustion "
                  f"({a_info['seconds']:.2f}s, stop: {a_info['stop']}); in-order "
                  f"{b_info['steps']} steps ({b_info['seconds']:.2f}s)")
            table("pattern extractor (deterministic): recall (all, tech), precision, claims",
                  budgets(limit), {
                      "curiosity (UCB1)": lambda n: cell(at(agent, n), gold, tech),
                      "in order (baseline)": lambda n: cell(at(base, n), gold, tech)})
            held_gold = load_gold(HERE / "heldout" / "gold.jsonl")
            held, _ = await in_order(HERE / "heldout" / "corpus", ["pattern"], 10_000, None,
                                     embedder)
            final = held[max(held)]
            score = match_claims(final, held_gold)
            print(f"\nheld-out corpus (written after the patterns were frozen, "
                  f"{len(held_gold)} facts): pattern extractor recall {score.recall:.1%}, "
                  f"precision {score.precision:.1%} ({score.claims} claims)")
            if args.no_model:
                return
            from aios.llm import ModelSpec, build_gateway

            models = {} if args.model == "local" else {args.model: ModelSpec(
                provider="openai", model=args.model, base_url=args.base_url,
                api_key_env=args.api_key_env)}
            gateway = build_gateway(models)
            try:
                steps = args.model_steps
                m_agent, m_info = await curiosity(store, corpus, ["pattern", "model"], steps,
                                                  gateway, embedder, "model")
                m_base, mb_info = await in_order(corpus, ["pattern", "model"], steps, gateway,
                                                 embedder)
                m_held, _ = await in_order(HERE / "heldout" / "corpus", ["pattern", "model"],
                                           10_000, gateway, embedder)
            finally:
                await gateway.aclose()
            final = m_held[max(m_held)]
            for name, claims in (("model", only(final, "model")), ("both", final)):
                score = match_claims(claims, held_gold)
                print(f"held-out corpus, {name} claims: recall {score.recall:.1%}, precision "
                      f"{score.precision:.1%} ({score.claims} claims)")
            print(f"\nmodel {args.model!r}: curiosity run {m_info['seconds']:.0f}s, "
                  f"{m_info['tokens']} tokens; in-order run {mb_info['seconds']:.0f}s, "
                  f"{mb_info['tokens']} tokens")
            ex = m_info["extractors"].get("model", {})
            print(f"model extractor (curiosity run): {ex.get('proposed', 0)} triples proposed,"
                  f" {ex.get('dropped', 0)} dropped as unsupported by the passage, "
                  f"{ex.get('claims', 0)} kept, over {ex.get('calls', 0)} calls")
            planner = m_info["planner"]
            print(f"model planner: {planner['calls']} calls, {planner['proposed']} lines, "
                  f"{planner['accepted']} accepted as sub-questions, {planner['rejected']} "
                  f"rejected; fallback items {planner['fallback_items']}")
            table(f"model {args.model!r} + pattern, first {steps} steps: recall (all, tech),"
                  " precision, claims", budgets(steps), {
                      "curiosity: model claims": lambda n: cell(only(at(m_agent, n), "model"),
                                                                gold, tech),
                      "curiosity: both": lambda n: cell(at(m_agent, n), gold, tech),
                      "in order: model claims": lambda n: cell(only(at(m_base, n), "model"),
                                                               gold, tech),
                      "in order: both": lambda n: cell(at(m_base, n), gold, tech)})
        finally:
            await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-steps", type=int, default=10,
                        help="steps of the model-extractor runs (each reads 2 passages)")
    parser.add_argument("--no-model", action="store_true", help="pattern extractor only")
    parser.add_argument("--model", default="local",
                        help="`local` (packaged SmolLM2) or an OpenAI-compatible model id")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint (/v1)")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY",
                        help="variable holding the endpoint's API key")
    asyncio.run(main(parser.parse_args()))
