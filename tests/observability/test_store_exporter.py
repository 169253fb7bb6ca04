"""The store exporter and its processor: rows, batching, back-pressure, failures."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from sqlalchemy import func, select

from aios.errors import StoreError
from aios.manifest import Manifest
from aios.observability import (
    StoreSpanExporter,
    StoreSpanProcessor,
    setup_tracing,
    spans,
)
from aios.runtime import ActionContext, HandlerRegistry, Runtime, handler
from aios.settings import Settings
from aios.store import RunStore, Store


async def _count(store: Store) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(spans))).scalar_one())


def _provider(processor: StoreSpanProcessor) -> TracerProvider:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    return provider


async def test_finished_spans_become_rows_with_denormalised_columns(store: Store) -> None:
    processor = StoreSpanProcessor(StoreSpanExporter(store.url))
    tracer = _provider(processor).get_tracer("t")
    llm_attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                 "gen_ai.request.model": "gpt-x", "aios.model": "fast",
                 "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 5,
                 "gen_ai.usage.cache_read.input_tokens": 3, "aios.cost_usd": 0.25,
                 "aios.agent": "kernel", "aios.action": "kernel.ps"}
    with (tracer.start_as_current_span("run r", attributes={"aios.kind": "run",
                                                             "aios.run_id": "r1"}),
          tracer.start_as_current_span("chat m", attributes=llm_attrs) as span):
        span.add_event("retry", {"attempt": 2})
    await processor.flush()
    processor.shutdown()
    async with store.engine.connect() as conn:
        rows = {r.name: r for r in (await conn.execute(select(spans))).all()}
    run, llm = rows["run r"], rows["chat m"]
    assert run.kind == "run" and run.parent_id is None and run.run_id == "r1"
    assert llm.parent_id == run.span_id and llm.trace_id == run.trace_id
    assert (llm.kind, llm.model, llm.provider, llm.agent, llm.action) == (
        "llm", "fast", "openai", "kernel", "kernel.ps")
    assert (llm.input_tokens, llm.output_tokens, llm.cache_read_tokens) == (12, 5, 3)
    assert llm.cost_usd == 0.25 and llm.span_kind == "internal"
    assert json.loads(llm.attributes)["gen_ai.request.model"] == "gpt-x"
    assert json.loads(llm.events)[0]["name"] == "retry"
    assert llm.end_ns >= llm.start_ns and llm.duration_ms >= 0


class _SlowWriter:
    """Writes into a list, slowly: the queue fills and producers must wait."""

    def __init__(self) -> None:
        self.rows: list[ReadableSpan] = []
        self.batches = 0

    def write(self, batch: list[ReadableSpan]) -> None:
        time.sleep(0.01)
        self.rows.extend(batch)
        self.batches += 1

    def shutdown(self) -> None:
        pass


def test_a_full_queue_blocks_the_producer_instead_of_dropping() -> None:
    writer = _SlowWriter()
    processor = StoreSpanProcessor(writer, max_queue=50, max_batch=20, interval_s=0.001)
    tracer = _provider(processor).get_tracer("t")
    producers = [threading.Thread(target=lambda: [
        tracer.start_span(f"s{i}").end() for i in range(500)]) for _ in range(4)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    assert processor.force_flush(10_000)
    assert len(writer.rows) == 2000 and processor.dropped == 0
    assert writer.batches >= 2000 // 20  # batches were capped, so the queue really was full
    processor.shutdown()


def test_shutdown_writes_what_is_queued(tmp_path: Path) -> None:
    writer = _SlowWriter()
    processor = StoreSpanProcessor(writer, interval_s=60)  # never flushed by the timer
    tracer = _provider(processor).get_tracer("t")
    for i in range(10):
        tracer.start_span(f"s{i}").end()
    processor.shutdown()
    assert len(writer.rows) == 10
    tracer.start_span("after").end()
    assert processor.dropped == 1  # a closed processor accepts nothing


async def test_a_batch_is_one_transaction(store: Store) -> None:
    exporter = StoreSpanExporter(store.url)
    provider = TracerProvider(shutdown_on_exit=False)
    tracer = provider.get_tracer("t")
    first = tracer.start_span("a")
    first.end()
    exporter.write([first])  # type: ignore[list-item]
    second = tracer.start_span("b")
    second.end()
    # `first` again violates the primary key: the whole batch must be rolled back.
    with pytest.raises(StoreError, match="refused a write of 2 spans"):
        exporter.write([second, first])  # type: ignore[list-item]
    exporter.shutdown()
    assert await _count(store) == 1


async def test_a_large_batch_of_any_size_arrives_whole_or_not_at_all(store: Store) -> None:
    # SQLite inserts a batch as several multi-row statements (1,024 rows, then powers of
    # two): every row must arrive once, and a failure in a later statement must undo the
    # earlier ones of the same batch.
    exporter = StoreSpanExporter(store.url)
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    made = []
    for i in range(2_500):
        span = tracer.start_span(f"s{i}", attributes={"aios.run_id": "big", "i": i})
        span.end()
        made.append(span)
    exporter.write(made)  # type: ignore[arg-type]
    fresh = []
    for i in range(1_500):
        span = tracer.start_span(f"t{i}")
        span.end()
        fresh.append(span)
    with pytest.raises(StoreError, match="refused a write of 1501 spans"):
        exporter.write([*fresh, made[-1]])  # type: ignore[list-item]
    exporter.shutdown()
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(spans.c.span_id, spans.c.name,
                                          spans.c.attributes))).all()
    assert len(rows) == 2_500
    by_id = {row.span_id: row for row in rows}
    for span in made:
        row = by_id[format(span.context.span_id, "016x")]
        assert row.name == span.name
        assert json.loads(row.attributes)["i"] == span.attributes["i"]


@handler("exp.ok")
async def ok_handler(ctx: ActionContext) -> int:
    return 1


TRACING: dict[str, Any] = {}


@handler("exp.flush")
async def flush_handler(ctx: ActionContext) -> None:
    # Forces the pending spans out now, so the failing write happens at a known point.
    with pytest.raises(StoreError):
        await TRACING["tracing"].flush()


async def test_a_read_only_store_is_reported_once_and_stops_the_run(
        settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "ro.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}")  # migrated, then read-only
    await store.close()
    tracing = setup_tracing(settings, store_url=f"sqlite:///file:{path}?mode=ro&uri=true")
    TRACING["tracing"] = tracing
    rw = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'runs.db'}")
    runs = RunStore(rw)
    registry = HandlerRegistry()
    registry.add(ok_handler)
    registry.add(flush_handler)
    manifest = Manifest.model_validate({
        "agents": {"exp": {"actions": {"ok": {"handler": "exp.ok"},
                                       "flush": {"handler": "exp.flush"}}}},
        "sequences": {"s": {"steps": [{"id": "a", "action": "exp.ok"},
                                      {"id": "b", "action": "exp.flush"},
                                      {"id": "c", "action": "exp.ok"},
                                      {"id": "d", "action": "exp.ok"}]}}})
    runtime = Runtime(manifest, runs, registry=registry, layers=[tracing.layer()],
                      listeners=[tracing.listener()])
    with caplog.at_level(logging.ERROR, logger="aios.observability"):
        result = await runtime.run("s")
    assert result.status == "failed"
    assert result.steps["a"].status == "succeeded" and result.steps["b"].status == "succeeded"
    assert result.steps["c"].status == "failed"
    assert "StoreError" in (result.steps["c"].error or "")
    assert "readonly" in (result.steps["c"].error or "")
    assert result.steps["d"].status == "cancelled"
    reports = [r for r in caplog.records if "refused a write" in r.getMessage()]
    assert len(reports) == 1
    with pytest.raises(StoreError, match="Free disk space"):
        tracing.check()
    tracing.shutdown()
    await runs.writer.close()
    await rw.close()


async def test_a_full_disk_is_reported_once_and_no_batch_is_half_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # SQLite's page limit makes it fail exactly as on a full disk (SQLITE_FULL).
    from aios.observability import exporter

    path = tmp_path / "full.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    opened = exporter._SqliteSink.__init__

    def limited(self: Any, url: Any) -> None:
        opened(self, url)
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        self._conn.execute(f"PRAGMA max_page_count = {pages + 40}")

    monkeypatch.setattr(exporter._SqliteSink, "__init__", limited)
    processor = StoreSpanProcessor(StoreSpanExporter(store.url), max_batch=50)
    tracer = _provider(processor).get_tracer("t")
    with caplog.at_level(logging.ERROR, logger="aios.observability"):
        for i in range(2_000):
            tracer.start_span(f"s{i}", attributes={"payload": "x" * 500}).end()
        with pytest.raises(StoreError, match=r"disk is full.*Free disk space"):
            await processor.flush()
    processor.shutdown()
    assert [r for r in caplog.records if "refused a write" in r.getMessage()] != []
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    assert 0 < processor.written < 2_000
    assert processor.written + processor.dropped == 2_000
    assert await _count(store) == processor.written  # whole batches only
    await store.close()


def test_an_unknown_database_kind_is_a_config_error() -> None:
    from aios.errors import ConfigError

    with pytest.raises(ConfigError, match="span store supports"):
        StoreSpanExporter("mysql://u@h/db")
    with pytest.raises(ConfigError, match="in-memory"):
        StoreSpanExporter("sqlite:///:memory:")


async def test_spans_from_many_tasks_all_arrive(store: Store, settings: Settings) -> None:
    tracing = setup_tracing(settings, store_url=store.url)

    async def worker(i: int) -> None:
        for j in range(200):
            with tracing.tracer.start_as_current_span(f"w{i}.{j}"):
                await asyncio.sleep(0)

    await asyncio.gather(*(worker(i) for i in range(10)))
    await tracing.flush()
    assert await _count(store) == 2000
    assert tracing.store is not None and tracing.store.dropped == 0
    tracing.shutdown()
