"""What `aios discover show` reports about a mission, as plain data."""

from __future__ import annotations

from typing import Any

from aios.discovery.graph import KnowledgeGraph
from aios.discovery.store import DiscoveryStore, MissionRecord

__all__ = ["load_mission_graph", "mission_row", "mission_summary"]


def mission_row(record: MissionRecord) -> dict[str, Any]:
    """One line of the missions list."""
    usage = record.state.get("usage", {})
    return {"id": record.id, "status": record.status, "steps": record.step,
            "question": record.question, "graph": record.graph_name,
            "stop_reason": record.stop_reason, "tokens": int(usage.get("tokens", 0)),
            "cost_usd": float(usage.get("usd", 0.0)), "created_at": record.created_at}


async def load_mission_graph(store: DiscoveryStore, record: MissionRecord) -> KnowledgeGraph:
    """The graph the mission builds (its named graph's latest version)."""
    data, _ = await store.load_graph(record.graph_name)
    return KnowledgeGraph.from_json(data)


async def mission_summary(store: DiscoveryStore, record: MissionRecord, *,
                          top: int = 10) -> dict[str, Any]:
    """Status, stop reason, usage, top entities (PageRank and degree), open questions,
    pending approvals, planner and extractor figures, and the last steps."""
    graph = await load_mission_graph(store, record)
    steps = await store.steps(record.id)
    state = record.state
    by_degree = sorted(graph.ranked(graph.entity_count), key=lambda e: (-e["degree"],
                                                                           e["name"]))
    conflicts = [c for c in graph.claims() if c["conflicts"]]
    return {
        **mission_row(record),
        "config": record.config,
        "claims": graph.claim_count,
        "entities": graph.entity_count,
        "documents_read": len(graph.documents),
        "usage": state.get("usage", {}),
        "top_pagerank": graph.ranked(top),
        "top_degree": by_degree[:top],
        "open_questions": state.get("open_questions", []),
        "pending": state.get("pending", []),
        "approved": state.get("approved", []),
        "denied": state.get("denied", []),
        "planner": state.get("planner", {}),
        "extractors": state.get("extractors", {}),
        "conflicts": [{"subject": c["subject"], "relation": c["relation"],
                       "object": c["object"], "sources": [s.get("doc_id") or s.get("call_id")
                                                          for s in c["sources"]]}
                      for c in conflicts],
        "recent_steps": steps[-10:],
    }
