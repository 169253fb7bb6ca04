"""One step of a mission: gather evidence, extract claims, merge them, record the step.

`Session` is a mission being run by this process (its graph, sources and extractors);
`StepRunner` executes one step on it and returns the step's record (the caller saves it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from aios.discovery.corpus import Passage
from aios.discovery.curiosity import FrontierItem, information_gain
from aios.discovery.extract import Claim, DocContext, Extractor
from aios.discovery.graph import KnowledgeGraph
from aios.discovery.mission import Mission
from aios.discovery.modelcall import LLM, ModelCall
from aios.discovery.planner import entity_item, model_questions, question_item
from aios.discovery.sources import Source, SourceContext
from aios.discovery.state import MissionState, StepRecord

__all__ = ["REPLAN_EVERY", "Session", "StepRunner", "active_sources", "open_question"]

#: Model-planner calls happen at step 1 and then every this many steps.
REPLAN_EVERY = 10


class Session:
    """A mission being run by this process: its graph, sources and extractors."""

    def __init__(self, mission_id: str, mission: Mission, state: MissionState,
                 graph: KnowledgeGraph, graph_name: str, graph_version: int,
                 sources: list[Source], extractors: list[Extractor], ctx: SourceContext):
        self.id = mission_id
        self.mission = mission
        self.state = state
        self.graph = graph
        self.graph_name = graph_name
        self.graph_version = graph_version
        self.sources = sources
        self.extractors = extractors
        self.ctx = ctx
        self.saved_state: dict[str, Any] = state.to_json()
        self.vectors: dict[str, np.ndarray] = {}


def active_sources(s: Session, *, use_model: bool = True) -> list[Source]:
    """The mission's sources not disabled by a denial (and not the model, if excluded)."""
    return [src for src in s.sources if src.spec not in s.state.disabled_sources
            and (use_model or src.kind != "model")]


def open_question(s: Session, item: FrontierItem, reason: str) -> None:
    """Record that no source had evidence for `item` (once per item)."""
    if any(q["item"] == item.id for q in s.state.open_questions):
        return
    s.state.open_questions.append({"item": item.id, "question": item.question,
                                   "reason": reason, "step": s.state.step})


class StepRunner:
    """Executes steps (see `run`).

    Args:
        llm: the gateway (model planner); tracer: OpenTelemetry tracer or None;
        clock: monotonic seconds.
    """

    def __init__(self, llm: LLM | None, tracer: Any, clock: Callable[[], float]):
        self.llm = llm
        self.tracer = tracer
        self.clock = clock

    async def run(self, s: Session, item: FrontierItem, *, score: float,
                  use_model: bool) -> StepRecord:
        """Explore `item` once; update the session's graph and state; return the record."""
        started = self.clock()
        state, m = s.state, s.mission
        step = state.step + 1
        with self._span(s, step, item) as span:
            calls: list[ModelCall] = []
            planned: list[str] = []
            if m.planner == "model" and use_model and (step == 1 or step % REPLAN_EVERY == 0):
                planned = await self._model_plan(s, step, calls)
            claims: list[Claim] = []
            passages: list[tuple[Passage, DocContext]] = []
            sources: list[str] = []
            for src in active_sources(s, use_model=use_model):
                if src.spec in item.asked:
                    continue
                evidence = await src.gather(item, m.passages_per_step, s.ctx)
                sources.append(src.spec)
                if src.spec not in state.used_sources:
                    state.used_sources.append(src.spec)
                calls += evidence.calls
                claims += evidence.claims
                passages += evidence.passages
                if evidence.exhausted:
                    item.asked.append(src.spec)
                if src.kind == "model":
                    self._count("model-source", len(evidence.claims), 0, 0, len(evidence.calls),
                                state)
            for passage, doc in passages:
                for ex in s.extractors:
                    if ex.name == "model" and not use_model:
                        continue
                    got = await ex.extract(passage, doc)
                    claims += got.claims
                    calls += got.calls
                    self._count(ex.name, len(got.claims), got.proposed, got.dropped,
                                len(got.calls), state)
            before = set(s.graph.graph.nodes)
            new_claims = corroborations = conflicts = 0
            for claim in claims:
                result = s.graph.add(claim, step)
                new_claims += result.new
                corroborations += result.corroborated
                conflicts += len(result.conflicts)
            new_nodes = [n for n in s.graph.graph.nodes if n not in before]
            for node in new_nodes:
                data = s.graph.graph.nodes[node]
                if data["kind"] == "name" and state.add_item(
                        entity_item(node, data["name"], step=step, order=0)):
                    state.planner["fallback_items"] += 1
            gain = information_gain(new_claims, len(new_nodes), corroborations, conflicts,
                                    m.curiosity.gain_scale)
            item.pulls += 1
            item.gain += gain
            if all(src.spec in item.asked for src in active_sources(s)):
                item.done = True
            found = bool(passages or claims)
            if not found:
                open_question(s, item, "no source had evidence for it")
            state.stale = 0 if (new_claims or new_nodes) else state.stale + 1
            tokens = sum(c.tokens for c in calls)
            cost = sum(c.cost_usd for c in calls)
            elapsed = self.clock() - started
            state.usage["tokens"] += tokens
            state.usage["usd"] += cost
            state.usage["seconds"] += elapsed
            state.usage["model_calls"] += len(calls)
            state.step = step
            record = StepRecord(
                step=step, item=item.id, question=item.question, origin=item.origin,
                score=round(score, 5), sources=tuple(sources),
                passages=tuple(p.id for p, _ in passages), claims_found=len(claims),
                new_claims=new_claims, new_entities=len(new_nodes),
                corroborations=corroborations, conflicts=conflicts, gain=round(gain, 5),
                claims_total=s.graph.claim_count, entities_total=s.graph.entity_count,
                tokens=tokens, cost_usd=cost, duration_s=round(elapsed, 4),
                model_calls=tuple(c.to_json() for c in calls), open_question=not found,
                planned=tuple(planned))
            if span is not None:
                span.set_attributes({"discovery.new_claims": new_claims,
                                     "discovery.new_entities": len(new_nodes),
                                     "discovery.tokens": tokens, "discovery.cost_usd": cost,
                                     "discovery.gain": gain})
        return record

    async def _model_plan(self, s: Session, step: int, calls: list[ModelCall]) -> list[str]:
        assert self.llm is not None
        asked = [i.question for i in s.state.frontier.values() if i.origin != "fallback"]
        proposal = await model_questions(self.llm, s.mission.question, s.graph, asked,
                                         max_tokens=s.mission.max_tokens,
                                         tags=dict(s.ctx.tags))
        calls.append(proposal.call)
        stats = s.state.planner
        stats["calls"] += 1
        stats["proposed"] += proposal.proposed
        stats["rejected"] += proposal.rejected
        kept = []
        for question in proposal.questions:
            if s.state.add_item(question_item(question, origin="model", step=step, order=0)):
                stats["accepted"] += 1
                kept.append(question)
        return kept

    @staticmethod
    def _count(name: str, claims: int, proposed: int, dropped: int, calls: int,
               state: MissionState) -> None:
        entry = state.extractors.setdefault(name, {"claims": 0, "proposed": 0, "dropped": 0,
                                                   "calls": 0})
        entry["claims"] += claims
        entry["proposed"] += proposed
        entry["dropped"] += dropped
        entry["calls"] += calls

    @contextlib.contextmanager
    def _span(self, s: Session, step: int, item: FrontierItem) -> Iterator[Any]:
        if self.tracer is None:
            yield None
            return
        with self.tracer.start_as_current_span("discovery.step", attributes={
                "discovery.mission": s.id, "discovery.step": step,
                "discovery.item": item.id}) as span:
            yield span
