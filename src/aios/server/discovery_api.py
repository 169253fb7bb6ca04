"""REST API of discovery: missions, their summaries, and the knowledge graphs they build."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from aios.discovery.export import EXPORTERS
from aios.discovery.graph import KnowledgeGraph
from aios.discovery.report import mission_row, mission_summary
from aios.discovery.store import DiscoveryStore, discovery_graphs
from aios.errors import NotFoundError
from aios.server.auth import ServicesDep, Viewer
from aios.server.jsonsafe import json_safe
from aios.store.engine import Store

__all__ = ["GraphOut", "MissionOut", "load_graph", "router"]

router = APIRouter(prefix="/api/discovery", tags=["discovery"])


class MissionOut(BaseModel):
    """A mission as listed."""

    id: str
    status: str
    steps: int
    question: str
    graph: str = Field(description="The knowledge graph it builds.")
    stop_reason: str | None
    tokens: int
    cost_usd: float
    created_at: datetime


class GraphOut(BaseModel):
    """A named knowledge graph as listed."""

    name: str
    version: int = Field(description="Bumped at each checkpoint that changed it.")
    updated_at: datetime


async def load_graph(store: Store, name: str) -> KnowledgeGraph:
    """The latest version of the graph called `name`.

    Raises:
        NotFoundError: no such graph.
    """
    data, version = await DiscoveryStore(store).load_graph(name)
    if not version:
        raise NotFoundError(f"no knowledge graph {name!r}; GET /api/discovery/graphs lists them "
                            "(`aios discover` builds one)")
    return KnowledgeGraph.from_json(data)


@router.get("/missions", response_model=list[MissionOut], summary="List missions")
async def missions(services: ServicesDep, _user: Viewer,
                   limit: int = Query(20, ge=1, le=500)) -> list[MissionOut]:
    """The most recent missions first."""
    found = await DiscoveryStore(services.store).recent(limit)
    return [MissionOut(**mission_row(r)) for r in found]


@router.get("/missions/{mission_id}", response_model=dict[str, Any], summary="Show a mission")
async def mission(mission_id: str, services: ServicesDep, _user: Viewer) -> dict[str, Any]:
    """Status, usage, top entities, open questions, approvals and the last steps."""
    missions_store = DiscoveryStore(services.store)
    summary: dict[str, Any] = json_safe(json.loads(json.dumps(
        await mission_summary(missions_store, await missions_store.get(mission_id)),
        default=str)))
    return summary


@router.get("/graphs", response_model=list[GraphOut], summary="List knowledge graphs")
async def graphs(services: ServicesDep, _user: Viewer) -> list[GraphOut]:
    """Every named graph, most recently changed first."""
    query = select(discovery_graphs.c.name, discovery_graphs.c.version,
                   discovery_graphs.c.updated_at).order_by(discovery_graphs.c.updated_at.desc())
    async with services.store.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [GraphOut(name=r[0], version=r[1],
                     updated_at=r[2])
            for r in rows]


@router.get("/graphs/{name}", response_model=dict[str, Any], summary="Export a graph")
async def graph(name: str, services: ServicesDep, _user: Viewer) -> dict[str, Any]:
    """Entities, claims with their sources, and the documents read (the JSON export)."""
    kg = await load_graph(services.store, name)
    data: dict[str, Any] = json_safe(json.loads(EXPORTERS["json"](kg, {"graph": name})))
    return data
