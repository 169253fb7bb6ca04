"""Checkpoints of discovery missions: missions, per-step records and named graphs.

Tables (on the shared `metadata`, created by migration `0008_discovery`):

- `discovery_missions`: one row per mission: its configuration, status, stop reason, the
  last completed step and the state needed to continue (frontier, usage, approvals ...).
- `discovery_steps`: one row per completed step: what it explored, read and found, and its
  tokens and cost (the durable trace of the mission).
- `discovery_graphs`: named knowledge graphs as node-link JSON plus the documents read;
  missions extending the same name build on each other.

Each step is saved in one transaction (mission state, graph, step record), guarded by
optimistic checks: the mission's step and the graph's version must be what the writer last
read, so two processes can never interleave steps of one mission or lose a graph update.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Index, Table, UniqueConstraint, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from aios.errors import ConflictError, NotFoundError, StoreError
from aios.store import columns as col
from aios.store.engine import Store, database_error
from aios.store.runs import utcnow
from aios.store.tables import metadata

__all__ = ["DiscoveryStore", "MissionRecord", "discovery_graphs", "discovery_missions",
           "discovery_steps"]

discovery_missions = Table(
    "discovery_missions",
    metadata,
    col.string("id", 32, primary_key=True),
    col.text("question"),
    col.json("config"),
    col.string("graph_name", 200),
    col.string("status", 16),  # running|waiting|stopped|failed|interrupted
    col.text("stop_reason", null=True),
    col.integer("step", default=0),
    col.json("state"),
    col.text("error", null=True),
    col.timestamp("created_at"),
    col.timestamp("updated_at"),
    Index("ix_discovery_missions_created", "created_at"),
)

discovery_steps = Table(
    "discovery_steps",
    metadata,
    col.row_id(),
    col.string("mission_id", 32),
    col.integer("step"),
    col.timestamp("at"),
    col.json("record"),
    UniqueConstraint("mission_id", "step", name="uq_discovery_steps_mission_step"),
)

discovery_graphs = Table(
    "discovery_graphs",
    metadata,
    col.string("name", 200, primary_key=True),
    col.json("data"),
    col.integer("version"),
    col.timestamp("updated_at"),
)


@dataclass(frozen=True)
class MissionRecord:
    """A mission as stored."""

    id: str
    question: str
    config: dict[str, Any]
    graph_name: str
    status: str
    stop_reason: str | None
    step: int
    state: dict[str, Any]
    error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _record(row: Any) -> MissionRecord:
    return MissionRecord(id=row.id, question=row.question, config=dict(row.config),
                         graph_name=row.graph_name, status=row.status,
                         stop_reason=row.stop_reason, step=row.step, state=dict(row.state),
                         error=row.error, created_at=row.created_at,
                         updated_at=row.updated_at)


class DiscoveryStore:
    """Missions, step records and named graphs in the store (see the module docstring)."""

    def __init__(self, store: Store):
        self._engine = store.engine

    async def create(self, mission_id: str, question: str, config: Mapping[str, Any],
                     graph_name: str, state: Mapping[str, Any]) -> MissionRecord:
        """Insert a new mission in state `running` at step 0.

        Raises:
            ConflictError: a mission with this id exists.
        """
        now = utcnow()
        row = {"id": mission_id, "question": question, "config": dict(config),
               "graph_name": graph_name, "status": "running", "stop_reason": None, "step": 0,
               "state": dict(state), "error": None, "created_at": now, "updated_at": now}
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(discovery_missions).values(**row))
        except IntegrityError as exc:
            raise ConflictError(f"discovery mission {mission_id} already exists; resume it "
                                f"with `aios discover --resume {mission_id}`") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record mission {mission_id}: "
                             f"{database_error(exc)}") from exc
        return await self.get(mission_id)

    async def get(self, mission_id: str) -> MissionRecord:
        """The mission with this id (or unique id prefix).

        Raises:
            NotFoundError: no such mission. ConflictError: the prefix is ambiguous.
        """
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(discovery_missions).where(
                discovery_missions.c.id.like(f"{mission_id}%")).limit(3))).all()
        exact = [r for r in rows if r.id == mission_id]
        if exact:
            return _record(exact[0])
        if not rows or not mission_id:
            raise NotFoundError(f"no discovery mission {mission_id!r}; list missions with "
                                "`aios discover show`")
        if len(rows) > 1:
            raise ConflictError(f"mission id prefix {mission_id!r} is ambiguous ("
                                f"{', '.join(r.id for r in rows)}); give more characters")
        return _record(rows[0])

    async def recent(self, limit: int = 20) -> list[MissionRecord]:
        """The most recent missions, newest first."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(discovery_missions).order_by(
                discovery_missions.c.created_at.desc()).limit(limit))).all()
        return [_record(r) for r in rows]

    async def steps(self, mission_id: str) -> list[dict[str, Any]]:
        """The mission's step records, in order."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(discovery_steps.c.record).where(
                discovery_steps.c.mission_id == mission_id).order_by(
                discovery_steps.c.step))).all()
        return [dict(r.record) for r in rows]

    async def load_graph(self, name: str) -> tuple[dict[str, Any] | None, int]:
        """The named graph's data and version (`(None, 0)` when it does not exist yet)."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(discovery_graphs).where(
                discovery_graphs.c.name == name))).first()
        return (dict(row.data), int(row.version)) if row else (None, 0)

    async def checkpoint(self, mission_id: str, *, expected_step: int, step: int,
                         state: Mapping[str, Any], status: str, stop_reason: str | None,
                         graph_name: str, graph: Mapping[str, Any] | None, graph_version: int,
                         record: Mapping[str, Any] | None = None,
                         config: Mapping[str, Any] | None = None) -> int:
        """Save a step (or a status change) atomically; returns the graph's new version.

        Args:
            expected_step: the step the mission row must still be at.
            graph: the graph to save (None: unchanged); graph_version: the version read.
            record: the step's record, appended to `discovery_steps`.
            config: a replacement configuration (a resume with a new budget).

        Raises:
            ConflictError: another process advanced the mission or changed the graph.
        """
        now = utcnow()
        values: dict[str, Any] = {"step": step, "state": dict(state), "status": status,
                                  "stop_reason": stop_reason, "updated_at": now}
        if config is not None:
            values["config"] = dict(config)
        try:
            async with self._engine.begin() as conn:
                done = await conn.execute(update(discovery_missions).where(
                    discovery_missions.c.id == mission_id,
                    discovery_missions.c.step == expected_step).values(**values))
                if done.rowcount != 1:
                    raise ConflictError(
                        f"mission {mission_id} was advanced by another process (expected "
                        f"step {expected_step}); run `aios discover show {mission_id}`")
                version = graph_version
                if graph is not None:
                    version = await self._save_graph(conn, graph_name, graph, graph_version,
                                                     now)
                if record is not None:
                    await conn.execute(insert(discovery_steps).values(
                        mission_id=mission_id, step=step, at=now, record=dict(record)))
        except IntegrityError as exc:
            raise ConflictError(f"step {step} of mission {mission_id} was already recorded "
                                "by another process") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot checkpoint mission {mission_id}: "
                             f"{database_error(exc)}") from exc
        return version

    @staticmethod
    async def _save_graph(conn: Any, name: str, graph: Mapping[str, Any], version: int,
                          now: dt.datetime) -> int:
        if version == 0:
            try:
                async with conn.begin_nested():
                    await conn.execute(insert(discovery_graphs).values(
                        name=name, data=dict(graph), version=1, updated_at=now))
            except IntegrityError as exc:
                raise ConflictError(f"graph {name!r} was created by another mission "
                                    "meanwhile; resume this mission to build on it") from exc
            return 1
        done = await conn.execute(update(discovery_graphs).where(
            discovery_graphs.c.name == name, discovery_graphs.c.version == version).values(
            data=dict(graph), version=version + 1, updated_at=now))
        if done.rowcount != 1:
            raise ConflictError(f"graph {name!r} was changed by another mission; resume this "
                                "mission to continue from the graph's latest state")
        return version + 1
