"""MCP gateway: per-call overhead of the proxy, and calls per second through `aios mcp serve`.

Run: .venv/bin/python bench/mcp.py [--calls 100] [--http-calls 200] [--clients 4]

1. Proxy overhead. One upstream MCP server written with the SDK (tests/mcp/upstream_server.py,
   over stdio) answers the read-only tool `read_note`. The same call is made, interleaved,
   (a) directly with the SDK's ClientSession, (b) through the proxy's handler (the upstream
   connection Ai:oS keeps, with its definition re-check), and (c) as a whole run through the
   pipeline (`Runtime.execute("notes.read_note")`: tracing, guardrails, approval gate,
   reliability, the run and step records in the store). Printed: p50 / p90 of each and the
   p50 added over (a); the target is under 2 ms for (b).
2. Throughput. `aios mcp serve --http 127.0.0.1:0` on a manifest with one read-only action;
   --clients SDK clients (streamable HTTP, bearer token) call it --http-calls times in all.
   Printed: calls per second, next to `Runtime.execute` of the same action in this process.

Numbers are ratios against baselines measured in the same run; the load average is printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the SDK: running it puts bench/ first on sys.path, where `import
# mcp` would find this file again.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from aios.app import open_runtime
from aios.auth import Role, TokenStore, UserStore
from aios.manifest.schema import Manifest
from aios.settings import Settings
from aios.store import Store

REPO = Path(__file__).resolve().parents[1]
UPSTREAM = str(REPO / "tests" / "mcp" / "upstream_server.py")
HANDLERS = "def ping(ctx):\n    return {'pong': ctx.args.get('n', 0)}\n"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await fn()
    return (time.perf_counter() - start) * 1000


async def proxy_overhead(home: Path, notes: Path, calls: int) -> None:
    manifest = Manifest.model_validate({"name": "bench-mcp", "mcp_servers": {"notes": {
        "command": sys.executable, "args": [UPSTREAM], "env": {"NOTES_DIR": str(notes)}}}})
    settings = Settings(home=home, database_url=None)
    params = StdioServerParameters(command=sys.executable, args=[UPSTREAM],
                                   env={"NOTES_DIR": str(notes)})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as direct, \
            open_runtime(manifest, settings=settings, requester="bench") as runtime:
        await direct.initialize()
        proxied = runtime.registry.resolve("mcp:notes.read_note")

        class Ctx:
            args = {"name": "n1"}

        async def via_direct() -> None:
            await direct.call_tool("read_note", {"name": "n1"})

        async def via_proxy() -> None:
            await proxied(Ctx())

        async def via_runtime() -> None:
            result = await runtime.execute("notes.read_note", {"name": "n1"})
            assert result.ok, result.error

        for fn in (via_direct, via_proxy, via_runtime):  # warm up connections and caches
            for _ in range(10):
                await fn()
        samples: dict[str, list[float]] = {"direct": [], "proxy": [], "runtime": []}
        for _ in range(calls):
            samples["direct"].append(await timed(via_direct))
            samples["proxy"].append(await timed(via_proxy))
            samples["runtime"].append(await timed(via_runtime))
    base = statistics.median(samples["direct"])
    print(f"1. read-only upstream tool, {calls} calls each, interleaved (ms)")
    print(f"   {'path':<44}{'p50':>8}{'p90':>8}{'added p50':>11}{'ratio':>8}")
    labels = {"direct": "(a) SDK client -> upstream (baseline)",
              "proxy": "(b) proxy handler -> upstream",
              "runtime": "(c) Runtime.execute (whole pipeline)"}
    for key, label in labels.items():
        p50 = statistics.median(samples[key])
        print(f"   {label:<44}{p50:>8.2f}{pct(samples[key], 0.9):>8.2f}"
              f"{p50 - base:>11.2f}{p50 / base:>8.2f}")
    added = statistics.median(samples["proxy"]) - base
    print(f"   proxy adds {added:.2f} ms per call at p50 (target < 2 ms): "
          f"{'met' if added < 2 else 'NOT met'}")


async def http_throughput(tmp: Path, total: int, clients: int) -> None:
    (tmp / "bench_mcp_handlers.py").write_text(HANDLERS)
    manifest_path = tmp / "serve.yaml"
    manifest_path.write_text("name: bench-serve\nagents:\n  bench:\n    actions:\n"
                             "      ping: {handler: 'bench_mcp_handlers:ping'}\n")
    home = tmp / "serve-home"
    store = await Store.open(Settings(home=home, database_url=None).store_url())
    await UserStore(store).add("bench", Role.approver)
    token = (await TokenStore(store).issue("bench")).secret
    await store.close()

    sys.path.insert(0, str(tmp))
    from aios.app import load_manifest

    loaded = load_manifest(manifest_path)
    async with open_runtime(loaded, settings=Settings(home=tmp / "local-home",
                                                      database_url=None)) as runtime:
        for _ in range(10):
            await runtime.execute("bench.ping")
        start = time.perf_counter()
        for _ in range(total):
            await runtime.execute("bench.ping")
        local = total / (time.perf_counter() - start)

    env = {**os.environ, "AIOS_HOME": str(home),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(tmp)])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aios.cli", "mcp", "serve", "-m", str(manifest_path),
        "--http", "127.0.0.1:0", env=env, stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL)
    assert proc.stderr is not None
    try:
        url = ""
        while not url:
            line = (await asyncio.wait_for(proc.stderr.readline(), 120)).decode()
            if not line:
                raise SystemExit("aios mcp serve exited before listening")
            found = re.search(r"(http://\S+/mcp)", line)
            url = found.group(1) if found else ""
        per_client = max(1, total // clients)

        async def one_client() -> None:
            http = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                     timeout=httpx.Timeout(30, read=120))
            async with http, streamable_http_client(url, http_client=http) as (r, w, _), \
                    ClientSession(r, w) as session:
                await session.initialize()
                await session.call_tool("bench-ping", {})
                await ready.wait()
                for n in range(per_client):
                    result = await session.call_tool("bench-ping", {"n": n})
                    assert not result.isError, result

        ready = asyncio.Event()
        tasks = [asyncio.create_task(one_client()) for _ in range(clients)]
        await asyncio.sleep(3)  # sessions open and warm
        start = time.perf_counter()
        ready.set()
        await asyncio.gather(*tasks)
        served = per_client * clients / (time.perf_counter() - start)
    finally:
        proc.terminate()
        await proc.wait()
    print(f"2. calls per second, read-only action, {per_client * clients} calls")
    print(f"   Runtime.execute in this process, one at a time : {local:8.1f}/s (baseline)")
    print(f"   aios mcp serve --http, {clients} SDK clients          : {served:8.1f}/s "
          f"(ratio {served / local:.2f})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--http-calls", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        notes = tmp / "notes"
        notes.mkdir()
        (notes / "n1").write_text("a note")
        await proxy_overhead(tmp / "home", notes, args.calls)
        await http_throughput(tmp, args.http_calls, args.clients)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
