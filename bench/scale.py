"""Scale-out: fan-out throughput on the local executor and on Ray with 1, 2 and 4 workers.

Run: .venv/bin/python bench/scale.py [--actions 2000] [--repeats 3] [--database-url URL]

In one run, on this machine:

1. A fan-out of `--actions` actions (2,000), each a sync handler burning 5 ms of CPU
   (measured on the thread's CPU clock, so the work is the same however the process is
   scheduled), through the core pipeline (forensic, confirmation, idempotency, timeout) and
   the durable store, with 64 steps in flight: on the local executor (sync handlers in
   threads of the driver) and on the Ray executor with a local Ray instance of 1, 2 and 4
   worker processes. Prints actions/s (median of the repeats, min-max) and the speed-up
   over local.
2. The per-action cost Ray adds: the same fan-out of no-op actions (throughput), and a
   chain of 200 no-op actions one after another (latency), local against Ray (2 workers).
3. The resident memory of the driver process and of the largest Ray worker after the runs.

The store is SQLite in a temporary directory unless --database-url names another (for
example postgresql://postgres@127.0.0.1:5432/aios_bench, a database of its own: runs are
added, nothing is deleted).
Ray binds to 127.0.0.1 only. The figures depend on the machine: it prints its CPU count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Read by Ray at import: no usage reporting; a single-machine instance on 127.0.0.1.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from aios.manifest import Manifest
from aios.runtime import ActionContext, Runtime
from aios.runtime.executors import LocalExecutor, RayExecutor
from aios.store import RunStore, Store

BURN_S = 0.005
IN_FLIGHT = 64
CHAIN = 200
WORKERS = (1, 2, 4)
BENCH_DIR = Path(__file__).resolve().parent


def cpu_work(ctx: ActionContext) -> int:
    """5 ms of CPU on this thread's clock (a busy loop of arithmetic)."""
    end = time.thread_time() + BURN_S
    n = 0
    while time.thread_time() < end:
        for i in range(200):
            n += i * i
    return n & 0xFFFF


def noop(ctx: ActionContext) -> None:
    """Nothing: what remains is the executor's own cost."""
    return None


def rss(ctx: ActionContext) -> int:
    """The resident memory of the process running the action, in bytes."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def bench_manifest(actions: int) -> Manifest:
    fan_cpu = [{"id": f"c{i}", "action": "bench.cpu", "depends_on": []} for i in range(actions)]
    fan_noop = [{"id": f"n{i}", "action": "bench.noop", "depends_on": []}
                for i in range(actions)]
    chain = [{"id": f"s{i}", "action": "bench.noop"} for i in range(CHAIN)]
    warm = [{"id": f"w{i}", "action": "bench.noop", "depends_on": []} for i in range(64)]
    mem = [{"id": f"m{i}", "action": "bench.rss", "depends_on": []} for i in range(16)]
    return Manifest.model_validate({
        "agents": {"bench": {"actions": {
            # Importable by name on a Ray worker: this directory is on its PYTHONPATH.
            "cpu": {"handler": "scale:cpu_work", "timeout": None},
            "noop": {"handler": "scale:noop", "timeout": None},
            "rss": {"handler": "scale:rss"}}}},
        "sequences": {"fan_cpu": {"steps": fan_cpu}, "fan_noop": {"steps": fan_noop},
                      "chain": {"steps": chain}, "warm": {"steps": warm},
                      "rss": {"steps": mem}},
    })


async def timed_run(runs: RunStore, manifest: Manifest, executor: Callable[..., Any],
                    sequence: str) -> float:
    runtime = Runtime(manifest, runs, executor=executor, max_concurrency=IN_FLIGHT)
    start = time.perf_counter()
    result = await runtime.run(sequence)
    elapsed = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"{sequence} failed: {result.error}")
    return elapsed


async def measure(url: str, manifest: Manifest, executor: Callable[..., Any],
                  plan: dict[str, int], repeats: int) -> dict[str, list[float]]:
    """Seconds per run of each sequence in `plan`, `repeats` times, after a warm-up run;
    then the resident memory (MB) of the processes that ran 16 actions, under `rss`."""
    store = await Store.open(url)
    runs = RunStore(store)
    try:
        await timed_run(runs, manifest, executor, "warm")  # start workers, import handlers
        out: dict[str, list[float]] = {name: [] for name in plan}
        for _ in range(repeats):
            for name in plan:
                out[name].append(await timed_run(runs, manifest, executor, name))
        mem = await Runtime(manifest, runs, executor=executor).run("rss")
        out["rss"] = sorted({s.result / 2**20 for s in mem.steps.values()})
        return out
    finally:
        await runs.writer.close()
        await store.close()


def ray_measure(url: str, manifest: Manifest, workers: int, plan: dict[str, int],
                repeats: int) -> dict[str, list[float]]:
    """`measure` on the Ray executor with a fresh local instance of `workers` CPUs."""
    import ray

    ray.init(num_cpus=workers, include_dashboard=False, logging_level="ERROR",
             log_to_driver=False, object_store_memory=256 * 2**20)
    try:
        return asyncio.run(measure(url, manifest, RayExecutor(), plan, repeats))
    finally:
        ray.shutdown()


def rate(count: int, seconds: list[float]) -> dict[str, float]:
    return {"median": count / statistics.median(seconds), "min": count / max(seconds),
            "max": count / min(seconds)}


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    opts = parser.parse_args()
    # Ray workers import `scale:cpu_work` from this directory.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(BENCH_DIR), os.environ.get("PYTHONPATH")) if p)
    n = opts.actions
    manifest = bench_manifest(n)
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = opts.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'aios.db'}"
        full = {"fan_cpu": n, "fan_noop": n, "chain": CHAIN}
        results["local"] = asyncio.run(measure(url, manifest, LocalExecutor(), full,
                                               opts.repeats))
        for k in WORKERS:
            plan = full if k == 2 else {"fan_cpu": n}
            results[f"ray-{k}"] = ray_measure(url, manifest, k, plan, opts.repeats)

    store_kind = "PostgreSQL" if opts.database_url else "SQLite"
    print(f"scale-out ({opts.repeats} repeats; medians, min-max) on {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, {platform.machine()}, {store_kind} store, "
          f"{IN_FLIGHT} actions in flight")
    print(f"  fan-out of {n} actions x {BURN_S * 1e3:.0f} ms CPU each "
          f"(ideal on 1 core: {1 / BURN_S:.0f} actions/s):")
    local_cpu = rate(n, results["local"]["fan_cpu"])
    summary: dict[str, Any] = {"cpus": os.cpu_count(), "actions": n, "store": store_kind,
                               "cpu_fan_out": {}}
    for name in ("local", *(f"ray-{k}" for k in WORKERS)):
        r = rate(n, results[name]["fan_cpu"])
        summary["cpu_fan_out"][name] = r
        print(f"    {name:8s} {r['median']:7.1f} actions/s  ({r['min']:.1f}-{r['max']:.1f})"
              f"   x{r['median'] / local_cpu['median']:.2f} local")
    local_noop, ray_noop = rate(n, results["local"]["fan_noop"]), rate(
        n, results["ray-2"]["fan_noop"])
    local_chain = statistics.median(results["local"]["chain"]) / CHAIN
    ray_chain = statistics.median(results["ray-2"]["chain"]) / CHAIN
    print("  no-op actions, local vs Ray (2 workers):")
    print(f"    fan-out of {n}: local {local_noop['median']:7.1f} actions/s "
          f"({1e3 / local_noop['median']:.2f} ms each), Ray {ray_noop['median']:7.1f} "
          f"actions/s ({1e3 / ray_noop['median']:.2f} ms each)")
    print(f"    chain of {CHAIN} (one at a time): local {local_chain * 1e3:.2f} ms/action, "
          f"Ray {ray_chain * 1e3:.2f} ms/action: Ray adds {(ray_chain - local_chain) * 1e3:.2f}"
          " ms of latency per action")
    driver_mb = results["local"]["rss"][0]
    worker_mb = max(results["ray-2"]["rss"])
    print(f"  resident memory after the runs: driver (local executor) {driver_mb:.0f} MB, "
          f"largest Ray worker {worker_mb:.0f} MB")
    summary.update(noop_fan_out={"local": local_noop, "ray-2": ray_noop},
                   driver_mb=driver_mb, worker_mb=worker_mb,
                   chain_ms_per_action={"local": local_chain * 1e3, "ray-2": ray_chain * 1e3})
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
