"""From production to regression: turn stored LLM calls and action runs into a dataset.

Sources, checked at run time by looking at the store's tables:

- `spans` (observability): LLM spans carry the prompt and completion in the GenAI attributes
  `gen_ai.input.messages` / `gen_ai.output.messages` only when content capture was on
  (AIOS_TRACE_CONTENT=1); calls without them are counted, not invented.
- `llm_calls` (the gateway's cost ledger): one row per call, with no prompt text; its rows
  are counted so the user learns that prompts were not recorded.
- `runs` + `step_events` (core): each action run of the agent becomes a sample whose input is
  the action's arguments and whose target is the result it returned; sequence runs also
  record their action trajectory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Connection, MetaData, Table, func, inspect, select

from aios.evaluation.datasets import Sample
from aios.llm.types import Message
from aios.store.engine import Store
from aios.store.tables import runs, step_events

__all__ = ["Source", "TraceExport", "samples_from_store"]

Source = Literal["all", "llm", "actions"]
_ROLES = {"system", "user", "assistant", "tool"}


@dataclass
class TraceExport:
    """The samples found, and what could not become one (so the user knows why)."""

    samples: list[Sample] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    without_prompt: int = 0
    notes: list[str] = field(default_factory=list)


def _text_of(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    if isinstance(parts, list):
        return "".join(str(p.get("content") or p.get("text") or "") for p in parts
                       if isinstance(p, Mapping) and p.get("type", "text") == "text")
    return ""


def _load_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _messages(attrs: Mapping[str, Any]) -> tuple[Message, ...] | None:
    raw = _load_json(attrs.get("gen_ai.input.messages"))
    if not isinstance(raw, list):
        return None
    out: list[Message] = []
    system = _text_of(_load_json(attrs.get("gen_ai.system_instructions")))
    if system:
        out.append(Message("system", system))
    for m in raw:
        if isinstance(m, Mapping) and m.get("role") in _ROLES:
            text = m["content"] if isinstance(m.get("content"), str) else _text_of(
                m.get("parts"))
            out.append(Message(cast(Any, m["role"]), text))
    return tuple(out) if out else None


def _completion(attrs: Mapping[str, Any]) -> str | None:
    raw = _load_json(attrs.get("gen_ai.output.messages"))
    if isinstance(raw, list) and raw and isinstance(raw[0], Mapping):
        return _text_of(raw[0].get("parts")) or str(raw[0].get("content") or "")
    return None


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _span_rows(conn: Connection, agent: str, since: datetime, limit: int
               ) -> list[dict[str, Any]]:
    spans = Table("spans", MetaData(), autoload_with=conn)
    query = (select(spans.c.span_id, spans.c.attributes, spans.c.model, spans.c.run_id,
                    spans.c.status)
             .where(spans.c.kind == "llm", spans.c.agent == agent,
                    spans.c.start_ns >= int(since.timestamp() * 1e9))
             .order_by(spans.c.start_ns).limit(limit))
    return [dict(r) for r in conn.execute(query).mappings()]


def _ledger_count(conn: Connection, agent: str, since: datetime) -> int:
    calls = Table("llm_calls", MetaData(), autoload_with=conn)
    if "agent" not in calls.c or "at" not in calls.c:
        return 0
    return int(conn.execute(select(func.count()).select_from(calls).where(
        calls.c.agent == agent, calls.c.at >= since)).scalar() or 0)


async def _llm_samples(store: Store, agent: str, since: datetime, limit: int,
                       export: TraceExport) -> None:
    async with store.engine.connect() as conn:
        names = await conn.run_sync(_tables)
        rows = (await conn.run_sync(_span_rows, agent, since, limit)
                if "spans" in names else [])
        ledger = (await conn.run_sync(_ledger_count, agent, since)
                  if "llm_calls" in names else 0)
    if "spans" in names:
        export.sources.append("spans")
    for row in rows:
        attrs = _load_json(row["attributes"]) or {}
        messages = _messages(attrs) if isinstance(attrs, Mapping) else None
        if messages is None:
            export.without_prompt += 1
            continue
        completion = _completion(attrs)
        export.samples.append(Sample(
            id=f"span-{row['span_id']}", input=messages,
            target=completion if row["status"] != "error" else None,
            metadata={"source": "spans", "model": row["model"], "run_id": row["run_id"]},
            tags=("llm", f"agent:{agent}")))
    if "llm_calls" in names:
        export.sources.append("llm_calls")
        recorded = len(rows)
        if ledger > recorded:  # the ledger keeps no prompt text: those calls cannot be replayed
            export.without_prompt += ledger - recorded
    if export.without_prompt:
        export.notes.append(
            f"{export.without_prompt} LLM call(s) of {agent!r} have no recorded prompt; set "
            "AIOS_TRACE_CONTENT=1 so spans keep prompts and completions")


async def _action_samples(store: Store, agent: str, since: datetime, limit: int,
                          export: TraceExport) -> None:
    export.sources.append("runs")
    query = (select(runs.c.id, runs.c.kind, runs.c.target, runs.c.options)
             .where(runs.c.created_at >= since, runs.c.status == "succeeded",
                    runs.c.kind == "action", runs.c.target.startswith(f"{agent}.",
                                                                      autoescape=True))
             .order_by(runs.c.created_at).limit(limit))
    async with store.engine.connect() as conn:
        found = (await conn.execute(query)).mappings().all()
        for run in found:
            events = (await conn.execute(
                select(step_events.c.action, step_events.c.status, step_events.c.result)
                .where(step_events.c.run_id == run["id"]).order_by(step_events.c.id)
            )).mappings().all()
            trajectory = [e["action"] for e in events if e["status"] == "running"]
            final = next((e["result"] for e in reversed(events)
                          if e["status"] == "succeeded"), None)
            args = (run["options"] or {}).get("args", {})
            export.samples.append(Sample(
                id=f"run-{run['id'][:12]}", input=dict(args),
                target=final, tags=("action", run["target"]),
                metadata={"source": "runs", "action": run["target"], "run_id": run["id"],
                          "trajectory": trajectory}))


def _dedupe(samples: list[Sample]) -> list[Sample]:
    seen: set[str] = set()
    out = []
    for s in samples:
        key = json.dumps([s.input_json(), s.metadata.get("action")], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


async def samples_from_store(store: Store, *, agent: str, since: datetime,
                             source: Source = "all", limit: int = 1000,
                             dedupe: bool = True) -> TraceExport:
    """Samples from what the store recorded for `agent` since `since`.

    Args:
        source: `llm` (LLM calls), `actions` (action runs), or `all`.
        limit: at most this many rows per source.
        dedupe: keep one sample per distinct input (production repeats itself).
    """
    export = TraceExport()
    if source in ("all", "llm"):
        await _llm_samples(store, agent, since, limit, export)
    if source in ("all", "actions"):
        await _action_samples(store, agent, since, limit, export)
    if dedupe:
        export.samples = _dedupe(export.samples)
    return export
