"""From production to regression: stored spans, ledger rows and action runs become samples."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from aios.errors import ConfigError
from aios.evaluation import load_dataset, samples_from_store, write_jsonl
from aios.llm.ledger import llm_calls
from aios.observability.table import spans
from aios.observability.window import parse_since
from aios.store import RunStore, Store


def test_parse_since_durations_and_dates() -> None:
    now = datetime(2025, 3, 10, 12, tzinfo=UTC)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("12h", now=now) == now - timedelta(hours=12)
    assert parse_since("2w", now=now) == now - timedelta(weeks=2)
    assert parse_since("2025-03-01", now=now) == datetime(2025, 3, 1, tzinfo=UTC)
    with pytest.raises(ConfigError, match="not a time window"):
        parse_since("last tuesday")


def _span(span_id: str, agent: str, attrs: dict[str, object], *, age_s: float = 60,
          status: str = "ok") -> dict[str, object]:
    start = int((time.time() - age_s) * 1e9)
    return {"trace_id": "t" * 32, "span_id": span_id, "parent_id": None, "name": "chat local",
            "kind": "llm", "span_kind": "client", "start_ns": start, "end_ns": start + 1000,
            "duration_ms": 0.001, "status": status, "attributes": json.dumps(attrs),
            "events": "[]", "run_id": "r1", "agent": agent, "action": f"{agent}.summarize",
            "model": "local", "provider": "local", "input_tokens": 5, "output_tokens": 3,
            "cache_read_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": 0,
            "cost_usd": 0.0, "error": None}


async def test_llm_spans_with_prompts_become_chat_samples(store: Store) -> None:
    captured = {
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
            {"type": "text", "content": "Summarise the host."}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
            {"type": "text", "content": "All good."}], "finish_reason": "stop"}])}
    async with store.engine.begin() as conn:
        await conn.execute(insert(spans), [
            _span("a" * 16, "orchestration", captured),
            _span("b" * 16, "orchestration", {"gen_ai.operation.name": "chat"}),  # no content
            _span("c" * 16, "orchestration", captured, age_s=30 * 86400),  # too old
            _span("d" * 16, "kernel", captured),  # another agent
        ])
    export = await samples_from_store(store, agent="orchestration",
                                      since=parse_since("7d"), source="llm")
    (sample,) = export.samples
    assert sample.id == "span-" + "a" * 16
    assert [(m.role, m.content) for m in sample.input] == [  # type: ignore[union-attr]
        ("system", "Be brief."), ("user", "Summarise the host.")]
    assert sample.target == "All good." and sample.metadata["source"] == "spans"
    assert export.without_prompt >= 1
    assert any("AIOS_TRACE_CONTENT=1" in note for note in export.notes)


async def test_ledger_rows_without_prompts_are_counted_not_invented(store: Store) -> None:
    now = datetime.now(UTC)
    async with store.engine.begin() as conn:
        await conn.execute(insert(llm_calls), [
            {"at": now, "agent": "user", "model": "local", "model_id": "m", "provider": "local",
             "status": "ok", "input_tokens": 1, "output_tokens": 1, "cache_read_tokens": 0,
             "cache_write_tokens": 0, "reasoning_tokens": 0, "counted": False,
             "cost_usd": 0.0, "cached": False, "stream": False} for _ in range(3)])
    export = await samples_from_store(store, agent="user", since=parse_since("1d"),
                                      source="llm")
    assert export.samples == [] and export.without_prompt == 3
    assert "llm_calls" in export.sources


async def test_action_runs_become_samples_with_results_and_trajectories(
        store: Store, tmp_path: Path) -> None:
    runs = RunStore(store)
    for run_id, args, result in (("run1", {"top": 2}, {"count": 10}),
                                 ("run2", {"top": 2}, {"count": 11}),  # same input: deduped
                                 ("run3", {"top": 5}, {"count": 12})):
        await runs.create_run(run_id, kind="action", target="kernel.processes",
                              forensic=False, manifest_name="m", manifest_path=None,
                              manifest_digest="d", options={"args": args})
        runs.step_event(run_id, "kernel.processes", "kernel.processes", "running")
        runs.step_event(run_id, "kernel.processes", "kernel.processes", "succeeded",
                        result=result)
        await runs.finish_run(run_id, "succeeded")
    await runs.create_run("run4", kind="action", target="storage.disks", forensic=False,
                          manifest_name="m", manifest_path=None, manifest_digest="d",
                          options={"args": {}})
    await runs.finish_run("run4", "succeeded")
    await runs.writer.close()
    export = await samples_from_store(store, agent="kernel", since=parse_since("1h"),
                                      source="actions")
    assert [(s.input, s.target) for s in export.samples] == [
        ({"top": 2}, {"count": 10}), ({"top": 5}, {"count": 12})]
    assert export.samples[0].metadata["trajectory"] == ["kernel.processes"]
    out = tmp_path / "regression.jsonl"
    assert write_jsonl(export.samples, out) == 2
    again = load_dataset(out)
    assert again.samples[1].input == {"top": 5} and again.samples[1].tags == (
        "action", "kernel.processes")
