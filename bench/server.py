"""Server benchmark: requests per second and latency of the REST API under load.

Starts `aios serve` (Uvicorn, one process) on 127.0.0.1 with a temporary SQLite store, seeds
it with runs started through the API (so there are runs, steps and spans to read) and with
pending approval requests, then drives each endpoint with an httpx.AsyncClient load
generator: CONCURRENCY requests in flight, at most REQUESTS requests or SECONDS seconds per
endpoint. `/healthz` (no authentication, one `SELECT 1`) is the baseline measured in the
same run; the last column is each endpoint's throughput relative to it.

Endpoints: GET /api/runs (list of 20), GET /api/runs/{id} (steps, DAG, approvals),
GET /api/metrics (percentiles over every stored span), GET /metrics (Prometheus),
POST /api/approvals/{id}/approve (a decision: a row, an audit record, one transaction).

The load generator shares the machine's cores with the server, so the figures are a floor.

Run: .venv/bin/python bench/server.py [--requests 2000] [--seconds 15] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from aios.approvals import ActionFacts, ApprovalPolicy, ApprovalService, Proposal
from aios.auth import Role, TokenStore, UserStore
from aios.settings import Settings
from aios.store import Store

MANIFEST = """\
name: bench-server
agents:
  bench:
    description: quick read-only steps
    actions:
      probe: {handler: "kernel.resources", description: "CPU, memory, load."}
sequences:
  quick:
    steps:
      - {id: one, action: bench.probe}
      - {id: two, action: bench.probe}
      - {id: three, action: bench.probe, depends_on: [one]}
"""

APPROVERS = ("alice", "bob", "carol", "dave")


@dataclass(frozen=True)
class Result:
    """One endpoint's figures."""

    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms.size else 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _prepare(settings: Settings, approvals: int) -> tuple[dict[str, str], list[str]]:
    """Users with tokens, and `approvals` pending requests (one approval each)."""
    store = await Store.open(settings.store_url())
    try:
        users, tokens = UserStore(store), TokenStore(store)
        out: dict[str, str] = {}
        for name, role in (("ada", Role.admin), *((n, Role.approver) for n in APPROVERS)):
            await users.add(name, role)
            out[name] = (await tokens.issue(name, expires_in=3600)).secret
        service = ApprovalService(store)
        needed = ApprovalPolicy().evaluate(ActionFacts("bench.change", "high", True))
        ids = []
        for i in range(approvals):
            req = await service.submit(Proposal(run_id=f"bench{i:06d}", step_id="change",
                                                action="bench.change", args={"i": i},
                                                requester="ada", reason="benchmark"), needed)
            ids.append(req.id)
        return out, ids
    finally:
        await store.close()


def _start_server(home: Path, manifest: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AIOS_HOME": str(home)}
    env.pop("AIOS_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "aios.cli", "serve", "--port", str(port),
                             "--manifest", str(manifest), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _wait_ready(client: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            why = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"aios serve exited: {why}")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("aios serve did not answer /healthz within 60 s")


async def _seed_runs(client: httpx.AsyncClient, token: str, runs: int) -> str:
    """Start `runs` runs of the quick sequence through the API; the last run's id."""
    headers = {"Authorization": f"Bearer {token}"}
    ids = [(await client.post("/api/runs", json={"sequence": "quick"}, headers=headers)
            ).json()["id"] for _ in range(runs)]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        listed = (await client.get(f"/api/runs?limit={runs}", headers=headers)).json()
        if all(r["status"] == "succeeded" for r in listed) and len(listed) == runs:
            return ids[-1]
        await asyncio.sleep(0.2)
    raise SystemExit("the seeded runs did not finish within 120 s")


async def _load(client: httpx.AsyncClient, name: str,
                make: Callable[[], tuple[str, str, dict[str, str], dict[str, object] | None]],
                *, requests: int, seconds: float, concurrency: int) -> Result:
    latencies: list[float] = []
    errors = 0
    remaining = itertools.count()
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        nonlocal errors
        while next(remaining) < requests and time.perf_counter() < deadline:
            method, path, headers, body = make()
            t0 = time.perf_counter()
            response = await client.request(method, path, headers=headers, json=body)
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code >= 400:
                errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, len(latencies), errors, time.perf_counter() - started,
                  np.array(latencies))


def _cycle(values: list[str]) -> Iterator[str]:
    return itertools.cycle(values)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="aios-bench-server-") as tmp:
        home = Path(tmp) / "home"
        manifest = Path(tmp) / "manifest.yaml"
        manifest.write_text(MANIFEST)
        settings = Settings(home=home, database_url=None)
        tokens, request_ids = await _prepare(settings, args.requests)
        port = _free_port()
        proc = _start_server(home, manifest, port)
        limits = httpx.Limits(max_connections=args.concurrency,
                              max_keepalive_connections=args.concurrency)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                         timeout=60) as client:
                await _wait_ready(client, proc)
                run_id = await _seed_runs(client, tokens["ada"], args.runs)
                viewer = {"Authorization": f"Bearer {tokens['ada']}"}
                approver_headers = itertools.cycle(
                    [{"Authorization": f"Bearer {tokens[n]}"} for n in APPROVERS])
                pending = iter(request_ids)

                def approve() -> tuple[str, str, dict[str, str], dict[str, object] | None]:
                    return ("POST", f"/api/approvals/{next(pending)}/approve",
                            next(approver_headers), {})

                scenarios: list[tuple[str, Callable[[], tuple[str, str, dict[str, str],
                                                              dict[str, object] | None]]]] = [
                    ("GET /healthz (baseline)", lambda: ("GET", "/healthz", {}, None)),
                    ("GET /api/runs", lambda: ("GET", "/api/runs", viewer, None)),
                    ("GET /api/runs/{id}", lambda: ("GET", f"/api/runs/{run_id}", viewer,
                                                    None)),
                    ("GET /api/metrics", lambda: ("GET", "/api/metrics", viewer, None)),
                    ("GET /metrics", lambda: ("GET", "/metrics", viewer, None)),
                    ("POST /api/approvals/{id}/approve", approve),
                ]
                for name, make in scenarios[:1]:  # warm up the connections and the caches
                    await _load(client, name, make, requests=200, seconds=5,
                                concurrency=args.concurrency)
                results = [await _load(client, name, make, requests=args.requests,
                                       seconds=args.seconds, concurrency=args.concurrency)
                           for name, make in scenarios]
        finally:
            proc.terminate()
            proc.wait(30)
    baseline = results[0].rps
    print(f"aios serve, 1 Uvicorn process, SQLite; {args.runs} runs seeded "
          f"({args.runs * 3} steps and their spans); concurrency {args.concurrency}; at most "
          f"{args.requests} requests or {args.seconds:g} s per endpoint; {os.cpu_count()} CPUs "
          "shared with the load generator")
    header = (f"{'endpoint':36} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} "
              f"{'p99 ms':>8} {'vs healthz':>10}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.name:36} {r.requests:8d} {r.errors:6d} {r.rps:8.0f} {r.percentile(50):8.1f} "
              f"{r.percentile(99):8.1f} {r.rps / baseline if baseline else 0:10.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="Per endpoint, at most.")
    parser.add_argument("--seconds", type=float, default=15.0, help="Per endpoint, at most.")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=40, help="Runs seeded through the API.")
    asyncio.run(main(parser.parse_args()))
