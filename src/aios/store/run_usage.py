"""What one run spent on models and what an agent run answered, read from the store for
`aios runs show`.

The spend comes from the cost ledger's rows of the run (table `llm_calls`, written by the
gateway for every call: the cost each call was charged, never recomputed), the answer from the
`end` entry of the run's conversation (table `agent_turns`). The ledger's table is named here
rather than imported, so showing a run does not load the model gateway.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Boolean, Float, Integer, String, column, func, select, table

from aios.store.agent_turns import agent_turns
from aios.store.engine import Store

__all__ = ["AgentEnd", "RunUsage", "agent_end", "run_usage"]

_calls = table("llm_calls", column("run_id", String), column("input_tokens", Integer),
               column("output_tokens", Integer), column("cost_usd", Float),
               column("cached", Boolean))


@dataclass(frozen=True)
class RunUsage:
    """The LLM calls of one run: how many (cache hits included), and the tokens and dollars
    they consumed (cache hits consumed none), as `aios metrics` and budgets count them."""

    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class AgentEnd:
    """How an agent run ended: why, and its final answer (None while it waits)."""

    end_reason: str | None = None
    answer: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


async def run_usage(store: Store, run_id: str) -> RunUsage:
    """The LLM calls the ledger recorded for `run_id`."""
    consumed = _calls.c.cached.is_(False)
    query = select(
        func.count(),
        func.coalesce(func.sum(_calls.c.input_tokens).filter(consumed), 0),
        func.coalesce(func.sum(_calls.c.output_tokens).filter(consumed), 0),
        func.coalesce(func.sum(_calls.c.cost_usd).filter(consumed), 0.0),
    ).where(_calls.c.run_id == run_id)
    async with store.engine.connect() as conn:
        calls, inputs, outputs, usd = (await conn.execute(query)).one()
    return RunUsage(int(calls), int(inputs or 0), int(outputs or 0), float(usd or 0.0))


async def agent_end(store: Store, run_id: str) -> AgentEnd:
    """The `end` entry of an agent run's conversation (empty while the run has not ended)."""
    query = (select(agent_turns.c.data).where(agent_turns.c.run_id == run_id,
                                               agent_turns.c.kind == "end")
             .order_by(agent_turns.c.seq.desc()).limit(1))
    async with store.engine.connect() as conn:
        data = (await conn.execute(query)).scalar_one_or_none()
    if not data:
        return AgentEnd()
    return AgentEnd(data.get("reason"), data.get("answer"))
