"""The autonomous discovery loop.

Each step:

1. **check** the stop conditions: a budget (steps, tokens, USD, stepping seconds), no new
   knowledge for `patience` steps in a row, or an empty frontier; the reason is recorded.
2. **choose** a frontier item by the curiosity policy (UCB1, `aios.discovery.curiosity`)
   after refreshing each item's novelty, uncertainty and relevance.
3. **ask** for approval when the autonomy level requires it (`aios.discovery.autonomy`):
   the request is checkpointed and `ActionSuspended` raised.
4. **plan** (every `replan_every` steps, with the model planner): new sub-questions.
5. **gather** evidence from every source (passages from corpora, claims from the model)
   and **extract** claims from the passages (pattern and/or model extractor).
6. **merge** the claims into the knowledge graph; each new entity becomes a frontier item.
7. **checkpoint** graph, frontier, usage and the step's record in one transaction.

A question nothing answers is recorded as an open question, never given an invented source.
Steps 4-6 are `aios.discovery.step`; this module is the loop, the approvals and persistence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from aios.discovery.autonomy import Approval, StepPlan, approval_needed
from aios.discovery.curiosity import CuriosityPolicy, FrontierItem
from aios.discovery.extract import ExtractorDeps, make_extractor
from aios.discovery.graph import KnowledgeGraph
from aios.discovery.mission import Budget, Mission
from aios.discovery.modelcall import LLM
from aios.discovery.planner import entity_item, mission_items
from aios.discovery.retrieval import Embedder, tokenize
from aios.discovery.sources import SourceContext, parse_source
from aios.discovery.state import MissionResult, MissionState, StepRecord
from aios.discovery.step import REPLAN_EVERY, Session, StepRunner, active_sources, open_question
from aios.discovery.store import DiscoveryStore
from aios.errors import ActionSuspended, AiosError, ConfigError, ConflictError

__all__ = ["DiscoveryAgent", "StepListener"]

log = logging.getLogger("aios.discovery")

StepListener = Callable[[StepRecord, MissionState, KnowledgeGraph], None]
"""Called after each checkpointed step with its record, the state and the graph (progress)."""

class DiscoveryAgent:
    """Runs discovery missions and checkpoints them in the store.

    Args:
        store: where missions, steps and graphs are saved.
        llm: the model gateway (needed by the `model` source, extractor and planner).
        embedder: the shared embedding service (retrieval, relevance, entity merging);
            None for BM25 and normalisation only.
        on_step: called after each checkpointed step.
        tracer: an OpenTelemetry tracer; each step becomes a span `discovery.step`.
        clock: monotonic seconds (for the wall-time budget).
    """

    def __init__(self, store: DiscoveryStore, *, llm: LLM | None = None,
                 embedder: Embedder | None = None, on_step: StepListener | None = None,
                 tracer: Any = None, clock: Callable[[], float] = time.monotonic):
        self._store = store
        self._llm = llm
        self._embedder = embedder
        self._on_step = on_step
        self._tracer = tracer
        self._clock = clock

    # -- entry points -----------------------------------------------------------------------

    async def start(self, mission: Mission, *, mission_id: str | None = None) -> MissionResult:
        """Start a new mission and run it until it stops or waits for an approval.

        Raises:
            ActionSuspended: a step needs approval (the mission is saved as `waiting`).
            ConfigError / NotFoundError: a source or extractor cannot be used.
        """
        mission_id = mission_id or uuid.uuid4().hex[:12]
        graph_name = mission.graph or f"mission-{mission_id}"
        state = MissionState()
        for item in mission_items(mission.question, order=0):
            state.add_item(item)
        session = await self._open(mission_id, mission, state, graph_name)
        # Extending a graph: what it already knows seeds the frontier, so new documents
        # about known entities are found even when they do not match the mission's words.
        for node, data in sorted(session.graph.graph.nodes(data=True)):
            if data["kind"] == "name":
                state.add_item(entity_item(node, data["name"], step=0, order=0))
        await self._store.create(mission_id, mission.question, mission.model_dump(mode="json"),
                                 graph_name, state.to_json())
        return await self._run(session)

    async def resume(self, mission_id: str, *, budget: Budget | None = None,
                     grant_pending: bool = False) -> MissionResult:
        """Continue a saved mission from its last completed step.

        Args:
            budget: a replacement budget (limits count from the mission's start).
            grant_pending: treat the pending approval requests as granted (a runtime
                re-executing a suspended step after its approval).

        Raises:
            NotFoundError: no such mission. ActionSuspended: it still waits for approval.
        """
        record = await self._store.get(mission_id)
        mission = Mission.model_validate(record.config)
        state = MissionState.from_json(record.state)
        if budget is not None:
            mission = mission.model_copy(update={"budget": budget})
        if grant_pending and state.pending:
            state.approved += [p["key"] for p in state.pending]
            state.pending = []
        session = await self._open(record.id, mission, state, record.graph_name)
        await self._store.checkpoint(record.id, expected_step=record.step, step=record.step,
                                     state=state.to_json(), status="running", stop_reason=None,
                                     graph_name=record.graph_name, graph=None,
                                     graph_version=session.graph_version,
                                     config=mission.model_dump(mode="json"))
        return await self._run(session)

    async def decide(self, mission_id: str, *, approve: bool) -> list[dict[str, Any]]:
        """Approve (or deny) every pending request of a waiting mission; returns them.

        Raises:
            ConflictError: the mission waits for nothing.
        """
        record = await self._store.get(mission_id)
        state = MissionState.from_json(record.state)
        if not state.pending:
            raise ConflictError(f"mission {record.id} is {record.status} and waits for no "
                                "approval")
        decided = list(state.pending)
        target = state.approved if approve else state.denied
        target += [p["key"] for p in decided]
        state.pending = []
        _, version = await self._store.load_graph(record.graph_name)
        await self._store.checkpoint(record.id, expected_step=record.step, step=record.step,
                                     state=state.to_json(), status="waiting",
                                     stop_reason=None, graph_name=record.graph_name,
                                     graph=None, graph_version=version)
        return decided

    # -- setup ------------------------------------------------------------------------------

    async def _open(self, mission_id: str, mission: Mission, state: MissionState,
                    graph_name: str) -> Session:
        data, version = await self._store.load_graph(graph_name)
        graph = KnowledgeGraph.from_json(data, self._embedder,
                                         merge_threshold=mission.merge_threshold)
        tags = {"run_id": mission_id, "action": "discovery.explore"}
        ctx = SourceContext(graph=graph, embedder=self._embedder, llm=self._llm,
                            passage_chars=mission.passage_chars,
                            min_similarity=mission.min_similarity,
                            model_confidence=mission.model_confidence,
                            max_tokens=mission.max_tokens, tags=tags)
        sources = [parse_source(spec, mission.question) for spec in mission.sources]
        for src in sources:
            await src.open(ctx)
        extractors = [make_extractor(name, ExtractorDeps(self._llm, mission.max_tokens, tags))
                      for name in mission.extractors]
        if mission.planner == "model" and self._llm is None:
            raise ConfigError("planner 'model' needs the model gateway; configure a model or "
                              "use the fallback planner")
        return Session(mission_id, mission, state, graph, graph_name, version, sources,
                        extractors, ctx)

    # -- the loop ---------------------------------------------------------------------------

    async def _run(self, s: Session) -> MissionResult:
        try:
            while True:
                reason = self._stop_reason(s)
                if reason is None:
                    self._refresh(s)
                    item = CuriosityPolicy(s.mission.curiosity).choose(
                        list(s.state.frontier.values()), s.state.total_pulls)
                    if item is None:
                        reason = "exhausted: no frontier item has anything left to explore"
                if reason is not None:
                    await self._save(s, status="stopped", reason=reason)
                    return self._result(s, "stopped", reason)
                assert item is not None
                use_model = True
                plan = self._plan(s, item)
                asks = approval_needed(s.mission, plan, set(s.state.approved))
                denied = [a for a in asks if a.key in s.state.denied]
                if denied:
                    stop = self._apply_denials(s, denied)
                    if stop:
                        await self._save(s, status="stopped", reason=stop)
                        return self._result(s, "stopped", stop)
                    if any(a.on_deny in ("drop_item", "drop_source") for a in denied):
                        continue
                    use_model = False
                pending = [a for a in asks if a.key not in s.state.denied]
                if pending:
                    await self._suspend(s, pending)
                record = await StepRunner(self._llm, self._tracer, self._clock).run(
                    s, item, score=CuriosityPolicy(s.mission.curiosity).score(
                        item, s.state.total_pulls), use_model=use_model)
                await self._save(s, status="running", reason=None, record=record)
                if self._on_step is not None:
                    self._on_step(record, s.state, s.graph)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._mark(s, "interrupted", "cancelled"))
            raise
        except ActionSuspended:
            raise
        except AiosError as exc:
            with contextlib.suppress(Exception):
                await self._mark(s, "failed", f"{type(exc).__name__}: {exc}")
            raise

    def _stop_reason(self, s: Session) -> str | None:
        budget, usage, state = s.mission.budget, s.state.usage, s.state
        if budget.steps is not None and state.step >= budget.steps:
            return f"budget: {budget.steps} steps reached"
        if budget.tokens is not None and usage["tokens"] >= budget.tokens:
            return f"budget: {int(usage['tokens'])} of {budget.tokens} tokens used"
        if budget.usd is not None and usage["usd"] >= budget.usd:
            return f"budget: ${usage['usd']:.4f} of ${budget.usd} spent"
        if budget.seconds is not None and usage["seconds"] >= budget.seconds:
            return f"budget: {usage['seconds']:.1f} of {budget.seconds} seconds used"
        if state.stale >= s.mission.patience:
            return (f"converged: {state.stale} consecutive steps added no claim and no "
                    "entity")
        return None

    def _refresh(self, s: Session) -> None:
        """Recompute each open item's signals; close items no source can say more about."""
        k = s.mission.passages_per_step
        mission_vec = self._embed(s, s.mission.question)
        policy = CuriosityPolicy(s.mission.curiosity)
        active = active_sources(s)
        for item in s.state.frontier.values():
            if item.done:
                continue
            for src in active:
                if src.spec not in item.asked and src.remaining(item) == 0:
                    item.asked.append(src.spec)
                    known = bool(item.entity and item.entity in s.graph.graph
                                 and s.graph.graph.degree(item.entity))
                    if (not item.pulls and not known and src.matched(item) == 0
                            and src.kind == "corpus"):
                        open_question(s, item, f"no unread passage of {src.spec} "
                                                     "matches it")
            if all(src.spec in item.asked for src in active):
                item.done = True
                continue
            item.novelty = max((src.novelty(item, k) for src in active
                                if src.spec not in item.asked), default=0.0)
            rel = [r for src in active if (r := src.relevance(item, k)) is not None]
            rel.append(self._similarity(s, item.query, mission_vec))
            item.relevance = float(sum(rel) / len(rel))
            item.uncertainty = (s.graph.uncertainty(item.entity) if item.entity
                                else 1.0 / (1 + item.pulls))
            item.prior = policy.prior(item.novelty, item.uncertainty, item.relevance)

    def _embed(self, s: Session, text: str) -> np.ndarray | None:
        if self._embedder is None:
            return None
        if text not in s.vectors:
            s.vectors[text] = np.asarray(self._embedder.embed([text]), dtype=np.float32)[0]
        return s.vectors[text]

    def _similarity(self, s: Session, query: str, mission_vec: np.ndarray | None) -> float:
        if mission_vec is not None:
            vec = self._embed(s, query)
            return float(np.clip(vec @ mission_vec, 0.0, 1.0)) if vec is not None else 0.0
        a, b = set(tokenize(query)), set(tokenize(s.mission.question))
        return len(a & b) / len(a | b) if a | b else 0.0

    def _plan(self, s: Session, item: FrontierItem) -> StepPlan:
        m, state = s.mission, s.state
        step = state.step + 1
        specs = tuple(src.spec for src in active_sources(s) if src.spec not in item.asked)
        est = 0
        if "model" in m.extractors:
            est += m.passages_per_step * (m.max_tokens + m.passage_chars // 3 + 120)
        if "model" in specs:
            est += m.max_tokens + 120
        if m.planner == "model" and (step == 1 or step % REPLAN_EVERY == 0):
            est += m.max_tokens + 200
        used = m.budget.fraction_used(state.step, int(state.usage["tokens"]),
                                      float(state.usage["usd"]), float(state.usage["seconds"]))
        return StepPlan(step, item, specs,
                        tuple(spec for spec in specs if spec not in state.used_sources), est,
                        used)

    def _apply_denials(self, s: Session, denied: list[Approval]) -> str | None:
        for approval in denied:
            if approval.on_deny == "stop":
                return f"denied: {approval.description}"
            if approval.on_deny == "drop_item" and approval.subject in s.state.frontier:
                s.state.frontier[approval.subject].done = True
            if approval.on_deny == "drop_source" and \
                    approval.subject not in s.state.disabled_sources:
                s.state.disabled_sources.append(approval.subject)
        return None

    async def _suspend(self, s: Session, pending: list[Approval]) -> None:
        s.state.pending = [{"key": a.key, "description": a.description,
                            "on_deny": a.on_deny, "subject": a.subject} for a in pending]
        await self._save(s, status="waiting", reason=None)
        text = "; ".join(a.description for a in pending)
        raise ActionSuspended(
            f"discovery mission {s.id} waits for approval: {text}. Approve with "
            f"`aios discover approve {s.id}` (or --deny), then `aios discover --resume {s.id}`",
            action="discovery.explore", reference=f"discovery:{s.id}:{pending[0].key}")

    # -- persistence ------------------------------------------------------------------------

    async def _save(self, s: Session, *, status: str, reason: str | None,
                    record: StepRecord | None = None) -> None:
        state_json = s.state.to_json()
        expected = int(s.saved_state.get("step", 0))
        s.graph_version = await self._store.checkpoint(
            s.id, expected_step=expected, step=s.state.step, state=state_json, status=status,
            stop_reason=reason, graph_name=s.graph_name, graph=s.graph.to_json(),
            graph_version=s.graph_version, record=record.to_json() if record else None)
        s.saved_state = state_json

    async def _mark(self, s: Session, status: str, error: str) -> None:
        """Record a status without the in-memory state (a step may be half done)."""
        step = int(s.saved_state.get("step", 0))
        await self._store.checkpoint(s.id, expected_step=step, step=step, state=s.saved_state,
                                     status=status, stop_reason=error, graph_name=s.graph_name,
                                     graph=None, graph_version=s.graph_version)

    @staticmethod
    def _result(s: Session, status: str, reason: str | None) -> MissionResult:
        return MissionResult(
            mission_id=s.id, status=status, stop_reason=reason, steps=s.state.step,
            claims=s.graph.claim_count, entities=s.graph.entity_count, graph=s.graph_name,
            usage=dict(s.state.usage), open_questions=len(s.state.open_questions),
            pending=tuple(s.state.pending))
