"""Tracing overhead: Ai:oS tracing with the store exporter against the raw OpenTelemetry SDK.

Prints, in one run:
  * per-span cost (µs) of the SDK with no processor, of the SDK with SimpleSpanProcessor +
    InMemorySpanExporter, and of Ai:oS tracing (redaction + store processor) measured from
    the first span to the moment every span is committed to SQLite;
  * spans written to SQLite per second by the store's write path (finished spans to committed
    rows: the exporter, median of three runs), and end to end, where the producing thread also
    creates every span (capped by span creation: 1e6 / the in-memory SDK's µs per span);
  * spans dropped (must be 0).
Targets: Ai:oS within 1.5x the in-memory SDK; >= 50,000 spans/s to SQLite; 0 dropped.

With `--postgres URL` it also prints the store write path's rate into PostgreSQL (asyncpg
COPY), next to the same path's rate into SQLite.

Run: .venv/bin/python bench/tracing.py [--spans N] [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from aios.observability import StoreSpanExporter, setup_tracing
from aios.settings import Settings
from aios.store import Store

ATTRS: dict[str, Any] = {"aios.kind": "action", "aios.run_id": "5f0c2e8a9b1d4c3e8f7a6b5c4d3e2f1a",
                         "aios.action": "kernel.processes", "aios.agent": "kernel",
                         "aios.step_id": "kernel.processes", "aios.criticality": "low",
                         "aios.mutates": False, "aios.forensic": False}


def make_spans(tracer: Tracer, n: int) -> None:
    """`n` spans shaped like action spans: a parent per 100 children, 8 attributes each."""
    for _ in range(n // 100):
        with tracer.start_as_current_span("run bench", attributes={"aios.kind": "run"}):
            for _ in range(99):
                with tracer.start_as_current_span("action kernel.processes", attributes=ATTRS) \
                        as span:
                    span.set_attribute("aios.status", "succeeded")


def per_span_us(provider: TracerProvider, n: int, rounds: int = 3) -> float:
    tracer = provider.get_tracer("bench")
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        make_spans(tracer, n)
        times.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(times)


async def open_store(path: Path) -> Store:
    return await Store.open(f"sqlite+aiosqlite:///{path}")


def write_rate(url: str, sample: list[ReadableSpan], batch: int = 4096) -> float:
    """Median spans/s of the store write path into `url`, over three thirds of `sample`, in
    the processor's batch size (the store is opened, and so migrated, first)."""
    asyncio.run(open_url(url))
    exporter = StoreSpanExporter(url)
    rates = []
    for part in range(3):
        chunk = sample[part::3]
        started = time.perf_counter()
        for i in range(0, len(chunk), batch):
            exporter.write(chunk[i:i + batch])
        rates.append(len(chunk) / (time.perf_counter() - started))
    exporter.shutdown()
    return statistics.median(rates)


async def open_url(url: str) -> None:
    """Open (and so migrate) the store at `url` once."""
    await (await Store.open(url)).close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="also measure the write path into this PostgreSQL database")
    args = parser.parse_args()
    n = args.spans

    bare = per_span_us(TracerProvider(shutdown_on_exit=False), n)
    memory_provider = TracerProvider(shutdown_on_exit=False)
    memory = InMemorySpanExporter()
    memory_provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = memory_provider.get_tracer("bench")
    times = []
    for _ in range(3):
        memory.clear()
        started = time.perf_counter()
        make_spans(tracer, n)
        times.append((time.perf_counter() - started) / n * 1e6)
    in_memory = statistics.median(times)
    sample: list[ReadableSpan] = list(memory.get_finished_spans())

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp), database_url=None)
        store = asyncio.run(open_store(Path(tmp) / "aios.db"))
        tracing = setup_tracing(settings)
        assert tracing.store is not None
        ours_times = []
        for _ in range(3):
            started = time.perf_counter()
            make_spans(tracing.tracer, n)
            if not tracing.store.force_flush(120_000):
                raise SystemExit("flush timed out")
            ours_times.append(time.perf_counter() - started)
        tracing.shutdown()
        ours = statistics.median(ours_times) / n * 1e6
        end_to_end = n / statistics.median(ours_times)
        dropped = tracing.store.dropped
        written = tracing.store.written

        # The store's write path alone: finished spans (those of the in-memory run; their ids
        # differ from the ones already stored) to committed rows, in the processor's batches.
        exporter_rate = write_rate(settings.store_url(), sample)
        asyncio.run(store.close())
    postgres_rate = write_rate(args.postgres, sample) if args.postgres else None

    ratio = ours / in_memory
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"spans per measurement: {n:,} (x3, median); load average {load} on "
          f"{os.cpu_count()} cores")
    print(f"OTel SDK, no processor:                 {bare:6.2f} µs/span")
    print(f"OTel SDK, Simple + InMemory exporter:   {in_memory:6.2f} µs/span")
    print(f"Ai:oS (redaction + store, to SQLite):   {ours:6.2f} µs/span   "
          f"= {ratio:.2f}x in-memory (target <= 1.5x)")
    print(f"spans written to SQLite (store path):   {exporter_rate:10,.0f} spans/s   "
          "(target >= 50,000; finished span -> committed row)")
    print(f"spans created and written, end to end:  {end_to_end:10,.0f} spans/s   "
          f"(creating them alone caps this at {1e6 / in_memory:,.0f}/s: the in-memory SDK)")
    if postgres_rate is not None:
        print(f"spans written to PostgreSQL (store path): {postgres_rate:8,.0f} spans/s   "
              "(asyncpg COPY, one per batch)")
    print(f"spans written: {written:,}; dropped: {dropped} (target 0)")
    if dropped or written != 3 * n:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
