"""The conversation of agent runs (table `agent_turns`): one row per durable entry.

An agent run's conversation is append-only: the goal and instructions, each model turn (text,
tool calls, usage), each tool call's result or refusal, and how the run ended. Entries are
numbered per run; the unique (run_id, seq) pair refuses a second process that would write
the same entry of the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Index, Table, select

from aios.store import columns as col
from aios.store.engine import Store
from aios.store.runs import utcnow
from aios.store.tables import metadata
from aios.store.writer import BatchWriter

__all__ = ["AgentTurnStore", "TurnEntry", "agent_turns"]

agent_turns = Table(
    "agent_turns",
    metadata,
    col.row_id(),
    col.string("run_id", 32),
    col.integer("seq"),
    col.string("kind", 16),  # message | model | tool | end
    col.json("data"),
    col.timestamp("at"),
    Index("uq_agent_turns_run_seq", "run_id", "seq", unique=True),
)


@dataclass(frozen=True)
class TurnEntry:
    """One entry of an agent run's conversation."""

    seq: int
    kind: str
    data: dict[str, Any]


class AgentTurnStore:
    """Queues and reads conversation entries.

    Entries go through the run store's group-commit writer, so a turn costs no commit of its
    own: they are flushed (the durability barrier) before anything that outlives the process,
    i.e. the idempotency claim of a mutating call, the filing of an approval request
    (`ActionContext.checkpoint`) and the end of the run; otherwise within one flush cycle.
    An entry lost in a crash is read-only progress: a model turn (the model is asked again)
    or a read-only call's result (the call runs again); a mutating call's turn and its claim
    are always on disk first, so on resume its idempotency record returns its result or
    refuses to run it twice.
    """

    def __init__(self, store: Store, writer: BatchWriter | None = None):
        self.store = store
        self.writer = writer or BatchWriter(store)

    def put(self, run_id: str, seq: int, kind: str, data: dict[str, Any]) -> None:
        """Queue entry `seq` of run `run_id` (committed by the next flush)."""
        self.writer.put(agent_turns, {"run_id": run_id, "seq": seq, "kind": kind,
                                      "data": data, "at": utcnow()})

    async def entries(self, run_id: str) -> list[TurnEntry]:
        """The run's conversation in order."""
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(agent_turns).where(
                agent_turns.c.run_id == run_id).order_by(agent_turns.c.seq))).mappings().all()
        return [TurnEntry(int(r["seq"]), str(r["kind"]), dict(r["data"])) for r in rows]
