"""Runtime overhead: Ai:oS's full pipeline with the durable store on, against plain asyncio.

Run: .venv/bin/python bench/runtime_overhead.py [--repeats 5]

1. A 1,000-step chain of async no-op handlers (each step depends on the previous one) through
   the runtime assembled by `aios.app.open_runtime` (every pipeline layer, every state change
   written to a SQLite store), next to plain asyncio awaiting the same no-op 1,000 times as
   tasks. Prints the per-action overhead (difference of medians / 1,000).
2. A 1,000-wide fan-out of handlers that each sleep 10 ms, next to `asyncio.gather` of the
   same sleeps. Prints wall times and their ratio to the ideal 10 ms, and the process CPU
   time of the fan-out: full pipeline, the engine and store with no layers, and gather.

Both are measured twice in one run: with Python's default garbage-collector settings, then
after `aios.tune_gc()` (start-up objects frozen, a larger first-generation threshold), which
the `aios` command applies after its imports.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aios.app import open_runtime
from aios.gc_tuning import tune_gc
from aios.manifest import Manifest
from aios.runtime import ActionContext, Runtime, handler
from aios.settings import Settings

N = 1000


@handler("bench.noop")
async def noop(ctx: ActionContext) -> None:
    return None


@handler("bench.sleep")
async def sleep10(ctx: ActionContext) -> None:
    await asyncio.sleep(0.010)


def bench_manifest() -> Manifest:
    chain = [{"id": f"c{i}", "action": "bench.noop"} for i in range(N)]
    fan = [{"id": f"f{i}", "action": "bench.sleep", "depends_on": []} for i in range(N)]
    return Manifest.model_validate({
        "agents": {"bench": {"actions": {"noop": {"handler": "bench.noop"},
                                         "sleep": {"handler": "bench.sleep"}}}},
        "sequences": {"chain": {"steps": chain}, "fan": {"steps": fan}},
    })


async def plain_chain() -> float:
    async def noop_plain() -> None:
        return None

    start = time.perf_counter()
    for _ in range(N):
        await asyncio.create_task(noop_plain())
    return time.perf_counter() - start


async def plain_fan() -> tuple[float, float]:
    """Wall and process CPU seconds of `asyncio.gather` over the sleeps."""
    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(asyncio.sleep(0.010) for _ in range(N)))
    return time.perf_counter() - start, time.process_time() - cpu


async def aios_run(sequence: str, home: Path, *, layers: bool = True
                   ) -> tuple[float, int, float]:
    """Wall seconds, store rows written and process CPU seconds (every thread) of one run;
    `layers=False` runs the same engine and store with an empty pipeline."""
    settings = Settings(home=home, max_concurrency=N)
    async with open_runtime(bench_manifest(), settings=settings,
                            handlers=[noop, sleep10]) as runtime:
        if not layers:
            runtime = Runtime(runtime.manifest, runtime.runs, registry=runtime.registry,
                              layers=[], max_concurrency=N)
        start, cpu = time.perf_counter(), time.process_time()
        result = await runtime.run(sequence)
        elapsed = time.perf_counter() - start
        await runtime.runs.writer.flush()  # the rows' CPU counts too
        used = time.process_time() - cpu
        assert result.ok, result.error
        written = runtime.runs.writer.rows_written
    return elapsed, written, used


async def measure(repeats: int, tmp: Path, tag: str) -> dict[str, list[float]]:
    """Medians' inputs: chain and fan-out wall times, fan-out CPU, under the current GC."""
    out: dict[str, list[float]] = {k: [] for k in (
        "chain_aios", "chain_plain", "fan_aios", "fan_plain", "cpu_aios", "cpu_core",
        "cpu_plain")}
    for i in range(repeats):
        elapsed, _, _ = await aios_run("chain", tmp / f"{tag}c{i}")
        out["chain_aios"].append(elapsed)
        out["chain_plain"].append(await plain_chain())
        elapsed, _, used = await aios_run("fan", tmp / f"{tag}f{i}")
        out["fan_aios"].append(elapsed)
        out["cpu_aios"].append(used)
        out["cpu_core"].append((await aios_run("fan", tmp / f"{tag}e{i}", layers=False))[2])
        elapsed, used = await plain_fan()
        out["fan_plain"].append(elapsed)
        out["cpu_plain"].append(used)
    return out


def report(m: dict[str, list[float]], title: str) -> dict[str, float]:
    med = statistics.median
    per_action_us = (med(m["chain_aios"]) - med(m["chain_plain"])) / N * 1e6
    print(f"  {title}")
    print(f"    chain of {N} no-op actions, full pipeline + SQLite store:")
    print(f"      aios        {med(m['chain_aios']) * 1e3:8.1f} ms  = "
          f"{med(m['chain_aios']) / N * 1e6:6.1f} µs/action")
    print(f"      plain asyncio {med(m['chain_plain']) * 1e3:6.1f} ms  = "
          f"{med(m['chain_plain']) / N * 1e6:6.1f} µs/action")
    print(f"      overhead per action: {per_action_us:.1f} µs   (target < 200 µs)")
    print(f"    fan-out of {N} actions sleeping 10 ms each:")
    print(f"      aios           {med(m['fan_aios']) * 1e3:7.1f} ms  = "
          f"{med(m['fan_aios']) / 0.010:.2f}x the ideal 10 ms  (target < 2x)")
    print(f"      asyncio.gather {med(m['fan_plain']) * 1e3:7.1f} ms  = "
          f"{med(m['fan_plain']) / 0.010:.2f}x the ideal 10 ms")
    print(f"      CPU (process, every thread): aios {med(m['cpu_aios']) * 1e3:.1f} ms, the "
          f"engine and store with no layers {med(m['cpu_core']) * 1e3:.1f} ms, "
          f"asyncio.gather {med(m['cpu_plain']) * 1e3:.1f} ms")
    return {"per_action_overhead_us": per_action_us, "fan_out_ms": med(m["fan_aios"]) * 1e3,
            "gather_ms": med(m["fan_plain"]) * 1e3}


async def main(repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        await aios_run("chain", Path(tmp) / "warmup")  # imports, migrations, JIT-free warmup
        default = await measure(repeats, Path(tmp), "d")
        tune_gc()  # what the `aios` command does after its imports
        tuned = await measure(repeats, Path(tmp), "t")
    print(f"runtime overhead ({repeats} repeats, medians; Python {sys.version.split()[0]})")
    results = {"default": report(default, "Python's default garbage collector settings:"),
               "tuned": report(tuned, f"after aios.tune_gc() (start-up objects frozen, gen0 "
                                      f"threshold {gc.get_threshold()[0]:,}), as in the aios "
                                      "command:")}
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    asyncio.run(main(parser.parse_args().repeats))
