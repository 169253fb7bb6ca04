"""The conversation of agent runs (table `agent_turns`): one row per durable entry.

An agent run's conversation is append-only: the goal and instructions, each model turn (text,
tool calls, usage), each tool call's result or refusal, and how the run ended. Entries are
numbered per run; the unique (run_id, seq) pair keeps two processes that resume the same run
from both writing the same entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from aios.errors import ConflictError
from aios.store.engine import Store
from aios.store.runs import utcnow
from aios.store.tables import ROW_ID, metadata

__all__ = ["AgentTurnStore", "TurnEntry", "agent_turns"]

agent_turns = Table(
    "agent_turns",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # message | model | tool | end
    Column("data", JSON, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("uq_agent_turns_run_seq", "run_id", "seq", unique=True),
)


@dataclass(frozen=True)
class TurnEntry:
    """One entry of an agent run's conversation."""

    seq: int
    kind: str
    data: dict[str, Any]


class AgentTurnStore:
    """Appends and reads conversation entries; every append is committed before it returns."""

    def __init__(self, store: Store):
        self.store = store

    async def append(self, run_id: str, seq: int, kind: str, data: dict[str, Any]) -> None:
        """Commit entry `seq` of run `run_id`.

        Raises:
            ConflictError: the run already has entry `seq` (another process resumed it).
        """
        try:
            async with self.store.engine.begin() as conn:
                await conn.execute(insert(agent_turns).values(
                    run_id=run_id, seq=seq, kind=kind, data=data, at=utcnow()))
        except IntegrityError:
            raise ConflictError(f"run {run_id[:12]} already has conversation entry {seq}; "
                                "another process is continuing it") from None

    async def entries(self, run_id: str) -> list[TurnEntry]:
        """The run's conversation in order."""
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(agent_turns).where(
                agent_turns.c.run_id == run_id).order_by(agent_turns.c.seq))).mappings().all()
        return [TurnEntry(int(r["seq"]), str(r["kind"]), dict(r["data"])) for r in rows]
