"""Approvals: how fast an approved action starts, and a 10,000-request load with nothing lost.

Run: .venv/bin/python bench/approvals.py [--samples 200] [--requests 10000] [--url URL]
     [--delivery-samples 100] [--delivery-only]

1. Pickup latency: a run's high-criticality action waits in-process (wait_seconds) behind the
   ApprovalLayer; an approver approves it through a *separate* store connection pool and
   service (as another process would: no in-process wake-up, the waiter must poll the store).
   Measured: time from the approve call to the handler starting, p50 / p99 over --samples
   runs. The same is measured with the approver using the waiter's own service (in-process
   wake-up) for comparison.
2. Load: --requests requests are created and decided concurrently (creators and deciders
   pipelined, 4 connection pools, 32 tasks); 10 % are rejected. Checked afterwards: every
   request is decided exactly once, every decision and the audit chain are complete, and the
   chain verifies. Prints counts and elapsed time.

3. Delivery path (`--delivery-samples`, also alone with `--delivery-only`): requests filed
   through a service whose channels are a signed webhook (a local HTTP receiver) and e-mail
   (a local aiosmtpd inbox). Measured: the time `submit()` takes with channels against the
   same service without them (the run's cost of channels; deliveries run in the background),
   also with the webhook endpoint down; and from `submit()` to the webhook POST arriving and
   to the message reaching the inbox, p50 / p99.

Default store: a SQLite file in a temporary directory; --url for PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aios.approvals import (
    ActionFacts,
    ApprovalLayer,
    ApprovalPolicy,
    ApprovalService,
    AuditLog,
    Proposal,
    args_hash,
)
from aios.auth import Role, User, UserStore
from aios.manifest import Manifest
from aios.runtime import (
    ActionContext,
    ForensicLayer,
    HandlerRegistry,
    IdempotencyLayer,
    Runtime,
    TimeoutLayer,
    handler,
)
from aios.store import RunStore, Store

STARTED: dict[str, float] = {}


@handler("bench.approved")
async def approved(ctx: ActionContext) -> None:
    STARTED[ctx.run_id] = time.perf_counter()


MANIFEST = Manifest.model_validate({
    "agents": {"ops": {"actions": {"change": {"handler": "bench.approved",
                                              "criticality": "high", "mutates": True}}}},
    "approvals": {"wait_seconds": 60}})


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def pickup_latency(url: str, samples: int, alice: User, *, same_service: bool
                         ) -> list[float]:
    """Milliseconds from `approve()` to the handler starting, one per sample."""
    store = await Store.open(url)
    other = await Store.open(url, migrate=False)
    runs = RunStore(store)
    waiter = ApprovalService(store)
    approver = waiter if same_service else ApprovalService(other)
    registry = HandlerRegistry()
    registry.add(approved)
    runtime = Runtime(MANIFEST, runs, registry=registry, layers=[
        ForensicLayer(), ApprovalLayer(waiter, MANIFEST.approvals, "bench"),
        IdempotencyLayer(runs), TimeoutLayer()])
    latencies = []
    try:
        for i in range(samples):
            run_id = f"lat{'s' if same_service else 'x'}{i}"
            task = asyncio.create_task(runtime.execute("ops.change", {"i": i}, run_id=run_id))
            request = None
            while request is None:  # the request is stored before the run waits
                await asyncio.sleep(0.002)
                request = await approver.find(run_id, "ops.change", args_hash({"i": i}))
            await asyncio.sleep(random.uniform(0, 0.1))  # land anywhere in the poll cycle
            t0 = time.perf_counter()
            await approver.approve(request.id, alice)
            result = await task
            assert result.ok, result.error
            latencies.append((STARTED[run_id] - t0) * 1000)
    finally:
        await runs.writer.close()
        await other.close()
        await store.close()
    return latencies


async def load(url: str, total: int, deciders: list[User]) -> dict[str, Any]:
    stores = [await Store.open(url, migrate=i == 0) for i in range(4)]
    services = [ApprovalService(s) for s in stores]
    need = ApprovalPolicy().evaluate(ActionFacts("ops.change", "high", mutates=True))
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    counter = iter(range(total))
    rejected = 0
    creators, workers = 16, 16

    async def create(worker: int) -> None:
        service = services[worker % len(services)]
        for i in counter:
            req = await service.submit(Proposal(
                run_id=f"load{i}", step_id="ops.change", action="ops.change", args={"i": i},
                requester="bench", reason="load"), need)
            await queue.put(req.id)

    async def decide(worker: int) -> None:
        nonlocal rejected
        service = services[worker % len(services)]
        while (request_id := await queue.get()) is not None:
            user = deciders[hash(request_id) % len(deciders)]
            if int(request_id[:2], 16) < 26:  # ~10 %
                await service.reject(request_id, user, reason="load test")
                rejected += 1
            else:
                await service.approve(request_id, user)

    t0 = time.perf_counter()
    decide_tasks = [asyncio.create_task(decide(w)) for w in range(workers)]
    await asyncio.gather(*(create(w) for w in range(creators)))
    for _ in decide_tasks:
        await queue.put(None)
    await asyncio.gather(*decide_tasks)
    elapsed = time.perf_counter() - t0
    counts = await services[0].requests.counts()
    t1 = time.perf_counter()
    report = await AuditLog(stores[0]).verify()
    verify_s = time.perf_counter() - t1
    for s in stores:
        await s.close()
    return {"elapsed": elapsed, "counts": counts, "rejected": rejected, "report": report,
            "verify_s": verify_s}


async def delivery_path(url: str, samples: int) -> dict[str, list[float]]:
    """Milliseconds: submit() without / with channels / with the webhook down, and from
    submit() to the webhook POST and to the inbox message."""
    import logging
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from aiosmtpd.smtp import SMTP

    from aios.approvals.channels.notifier import attach_channels

    logging.getLogger("aios.approvals.channels").setLevel(logging.ERROR)  # the down endpoint
    arrived: dict[str, float] = {}
    mailed: dict[str, float] = {}

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            arrived[json.loads(body)["request"]["id"]] = time.perf_counter()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Inbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            text = (envelope.original_content or b"").decode("utf-8", "replace")
            for line in text.splitlines():
                if line.startswith("X-Aios-Request:"):
                    mailed[line.split(":", 1)[1].strip()] = time.perf_counter()
            return "250 OK"

    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    smtp = await asyncio.get_running_loop().create_server(lambda: SMTP(Inbox()), "127.0.0.1", 0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    hook_url = f"http://127.0.0.1:{http.server_address[1]}/hook"
    env = {"HOOK_SECRET": "bench-secret"}

    def policy(url_: str) -> ApprovalPolicy:
        return ApprovalPolicy.model_validate({"channels": [
            {"type": "webhook", "url": url_, "secret_env": "HOOK_SECRET", "retries": 1,
             "backoff": 0.05},
            {"type": "email", "host": "127.0.0.1", "port": smtp.sockets[0].getsockname()[1],
             "from": "aios@bench.test", "to": ["oncall@bench.test"]}]})

    store = await Store.open(url)
    need = ApprovalPolicy().evaluate(ActionFacts("ops.change", "critical", mutates=True))
    out: dict[str, list[float]] = {"plain": [], "channels": [], "down": [], "webhook": [],
                                   "email": []}
    plain = ApprovalService(store)
    live = ApprovalService(store)
    live_notifier = attach_channels(live, policy(hook_url), env=env)
    down = ApprovalService(store)
    down_notifier = attach_channels(down, policy(f"http://127.0.0.1:{dead}/hook"), env=env)
    assert live_notifier is not None and down_notifier is not None
    submitted: dict[str, float] = {}
    try:
        for i in range(samples):
            for name, service in (("plain", plain), ("channels", live), ("down", down)):
                t0 = time.perf_counter()
                req = await service.submit(Proposal(
                    run_id=f"dl{name}{i}", step_id="ops.change", action="ops.change",
                    args={"i": i, "token": "sk-bench-0123456789abcdefghij"},
                    requester="bench", reason="delivery bench"), need)
                out[name].append((time.perf_counter() - t0) * 1000)
                if name == "channels":
                    submitted[req.id] = t0
                # Deliveries of one sample end before the next submit: each submit() is
                # timed without the store writes of earlier deliveries competing with it.
                await live_notifier.drain(60)
                await down_notifier.drain(60)
    finally:
        http.shutdown()
        smtp.close()
        await store.close()
    out["webhook"] = [(arrived[r] - t) * 1000 for r, t in submitted.items() if r in arrived]
    out["email"] = [(mailed[r] - t) * 1000 for r, t in submitted.items() if r in mailed]
    return out


def _report_delivery(samples: int, got: dict[str, list[float]]) -> bool:
    def row(values: list[float]) -> str:
        return f"p50 {pct(values, 50):7.1f} ms   p99 {pct(values, 99):7.1f} ms"

    base = pct(got["plain"], 50)
    print(f"3. delivery path, {samples} critical requests (webhook + e-mail channels):")
    print(f"   submit(), no channels (baseline):     {row(got['plain'])}")
    print(f"   submit(), with channels:              {row(got['channels'])}   "
          f"p50 {pct(got['channels'], 50) / base:.2f}x the baseline")
    print(f"   submit(), webhook endpoint down:      {row(got['down'])}   "
          f"p50 {pct(got['down'], 50) / base:.2f}x the baseline")
    print(f"   submit() -> webhook POST received:    {row(got['webhook'])}   "
          f"({len(got['webhook'])}/{samples} delivered)")
    print(f"   submit() -> message in the inbox:     {row(got['email'])}   "
          f"({len(got['email'])}/{samples} delivered)")
    return len(got["webhook"]) == samples and len(got["email"]) == samples


async def main(args: argparse.Namespace) -> int:
    tmp = tempfile.TemporaryDirectory(prefix="aios-bench-approvals-")
    url = args.url or f"sqlite+aiosqlite:///{Path(tmp.name) / 'aios.db'}"
    store = await Store.open(url)
    users = UserStore(store)
    people = [await users.add(f"approver{i}", Role.approver) for i in range(4)]
    await store.close()
    print(f"store: {url.split('://')[0]}  cores: {__import__('os').cpu_count()}  "
          f"load average: {__import__('os').getloadavg()[0]:.1f}")
    if args.delivery_only:
        delivered = _report_delivery(args.delivery_samples,
                                     await delivery_path(url, args.delivery_samples))
        tmp.cleanup()
        return 0 if delivered else 1

    cross = await pickup_latency(url, args.samples, people[0], same_service=False)
    local = await pickup_latency(url, args.samples, people[0], same_service=True)
    print(f"1. approve -> action starts, {args.samples} samples each:")
    print(f"   approver on another connection pool (polling path): p50 {pct(cross, 50):6.1f} ms"
          f"   p99 {pct(cross, 99):6.1f} ms   max {max(cross):6.1f} ms   (target p99 < 200)")
    print(f"   approver in the same service (wake-up path):        p50 {pct(local, 50):6.1f} ms"
          f"   p99 {pct(local, 99):6.1f} ms   max {max(local):6.1f} ms")

    result = await load(url, args.requests, people)
    counts = result["counts"]
    decided = counts.get("approved", 0) + counts.get("rejected", 0)
    report = result["report"]
    ok = (decided == args.requests and counts.get("rejected", 0) == result["rejected"]
          and counts.get("executed", 0) == 2 * args.samples
          and sum(counts.values()) == args.requests + 2 * args.samples and report.ok
          and report.records == args.requests * 3 + (len(cross) + len(local)) * 4)
    print(f"2. {args.requests} requests created and decided concurrently in "
          f"{result['elapsed']:.1f} s ({args.requests / result['elapsed']:.0f} requests/s, "
          f"{2 * args.requests / result['elapsed']:.0f} state changes/s)")
    print(f"   states: {dict(sorted(counts.items()))} (executed: the latency runs); "
          f"lost: {args.requests - decided}")
    print(f"   audit: {report} (verified in {result['verify_s']:.1f} s)")
    print(f"   {'OK' if ok else 'FAILED'}: every request decided once, chain complete")
    delivered = _report_delivery(args.delivery_samples,
                                 await delivery_path(url, args.delivery_samples))
    tmp.cleanup()
    return 0 if ok and delivered and pct(cross, 99) < 200 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--url", default=None, help="store URL (default: temporary SQLite)")
    parser.add_argument("--delivery-samples", type=int, default=100)
    parser.add_argument("--delivery-only", action="store_true",
                        help="only the delivery path (part 3)")
    sys.exit(asyncio.run(main(parser.parse_args())))
