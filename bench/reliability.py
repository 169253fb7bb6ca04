"""Reliability: success-path overhead, and a simulated outage with and without breaker/fallback.

Run: .venv/bin/python bench/reliability.py [--calls 2000] [--batches 40] [--seconds 12]
     [--rate 40]

1. Overhead on the success path, median ns per call over --batches batches of --calls calls,
   of an in-process provider whose `complete` returns at once:
     bare           `await provider.complete(...)`
     tenacity       the same call under a plain tenacity `AsyncRetrying` (3 attempts,
                    random exponential wait, retry on TransientProviderError): the usual way
     retry          aios `retrying` wrapper
     retry+breaker  aios `retrying` around `breaker`
     full stack     every gateway wrapper (`reliability_wrappers` with the default model
                    policy and a bulkhead: call timeout, bulkhead, breaker, retry; the
                    fallback wrapper adds nothing when a model has no chain)
   Printed: ns per call, and each row's overhead over bare next to tenacity's.
2. A simulated outage, real time: requests arrive at --rate per second (Poisson, seeded) for
   --seconds; the primary provider answers in ~40 ms, except from 25 % to 65 % of the run,
   when every request to it hangs until the 0.5 s call timeout (a provider down behind a
   load balancer that accepts connections). A backup provider answers in ~70 ms. Four
   configurations run side by side on the same arrival times, each with its own providers:
   retry only; retry + breaker; retry + fallback; retry + breaker + fallback. Printed per
   configuration: success rate, p50 / p95 / mean latency (all requests, and during the
   outage), and how many calls the failing primary received.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from aios.errors import TransientProviderError
from aios.llm.provider import Provider
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk
from aios.reliability import (
    DEFAULT_MODEL_POLICY,
    BreakerPolicy,
    BreakerRegistry,
    ReliabilityPolicy,
    RetryPolicy,
    StreamPolicy,
    breaker,
    reliability_wrappers,
    retrying,
)

REQUEST = LLMRequest.of("hello")


class Instant:
    """A provider that answers at once (the success path, nothing else)."""

    name = "bench"

    def __init__(self, model: ModelInfo):
        self.response = LLMResponse(text="ok", model=model.name, provider=self.name)

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        return self.response

    async def stream(self, request: LLMRequest, model: ModelInfo):  # type: ignore[no-untyped-def]
        yield StreamChunk(text="ok")


async def per_call_ns(call: Callable[[], Awaitable[Any]], calls: int, batches: int) -> float:
    for _ in range(200):  # warm up
        await call()
    samples = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        for _ in range(calls):
            await call()
        samples.append((time.perf_counter_ns() - start) / calls)
    return statistics.median(samples)


async def overhead(calls: int, batches: int) -> None:
    info = ModelInfo("m", "bench", "m-id")
    policy = ReliabilityPolicy()
    raw = Instant(info)
    retry_only = retrying(policy)(raw, info)
    registry = BreakerRegistry()
    with_breaker = retrying(policy)(breaker(registry, policy)(raw, info), info)
    full: Provider = raw  # the gateway's default model policy, plus a bulkhead
    stack = DEFAULT_MODEL_POLICY.model_copy(update={"max_concurrency": 64})
    for wrap in reliability_wrappers({"m": stack}, breakers=BreakerRegistry()):
        full = wrap(full, info)
    tenacity_retry = AsyncRetrying(stop=stop_after_attempt(3),
                                   wait=wait_random_exponential(multiplier=0.5, max=30),
                                   retry=retry_if_exception_type(TransientProviderError),
                                   reraise=True)

    async def bare() -> Any:
        return await raw.complete(REQUEST, info)

    async def tenacity() -> Any:
        return await tenacity_retry(raw.complete, REQUEST, info)

    rows = {
        "bare": bare,
        "tenacity": tenacity,
        "retry": lambda: retry_only.complete(REQUEST, info),
        "retry+breaker": lambda: with_breaker.complete(REQUEST, info),
        "full stack": lambda: full.complete(REQUEST, info),
    }
    results = {name: await per_call_ns(fn, calls, batches) for name, fn in rows.items()}
    base = results["bare"]
    tenacity_over = results["tenacity"] - base
    print("1. success-path overhead (median ns per call, "
          f"{batches} batches x {calls} calls)")
    print(f"   {'':16}{'ns/call':>10}{'overhead':>12}{'vs tenacity':>14}")
    for name, ns in results.items():
        over = ns - base
        ratio = "" if name == "bare" else f"{over / tenacity_over:>13.2f}x"
        print(f"   {name:16}{ns:>10.0f}{over:>10.0f} ns{ratio}")
    print()


# -- the simulated outage ---------------------------------------------------------------------


@dataclass
class Simulated:
    """A provider with log-normal latency that hangs during an outage window."""

    name: str
    median_s: float
    outage: tuple[float, float] | None
    clock_start: float
    rng: random.Random
    calls: int = 0

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        self.calls += 1
        now = time.monotonic() - self.clock_start
        if self.outage and self.outage[0] <= now < self.outage[1]:
            await asyncio.sleep(3600)  # hangs: only the call timeout ends it
        await asyncio.sleep(self.rng.lognormvariate(0, 0.3) * self.median_s)
        return LLMResponse(text="ok", model=model.name, provider=self.name)

    async def stream(self, request: LLMRequest, model: ModelInfo):  # type: ignore[no-untyped-def]
        yield StreamChunk(text=(await self.complete(request, model)).text)


@dataclass
class Outcome:
    at: float
    ok: bool
    latency: float


@dataclass
class Config:
    name: str
    use_breaker: bool
    use_fallback: bool
    primary: Simulated | None = None
    entry: tuple[Provider, ModelInfo] | None = None
    outcomes: list[Outcome] = field(default_factory=list)


def build(config: Config, start: float, window: tuple[float, float], seed: int) -> None:
    rng = random.Random(seed)
    primary = Simulated("primary-provider", 0.04, window, start, rng)
    backup = Simulated("backup-provider", 0.07, None, start, rng)
    config.primary = primary
    policy = ReliabilityPolicy(
        retry=RetryPolicy(attempts=3, initial_backoff_s=0.1, max_backoff_s=1, max_total_s=2),
        breaker=BreakerPolicy(window=20, min_calls=10, failure_rate=0.5, cooldown_s=2,
                              half_open_calls=1) if config.use_breaker else None,
        timeout_s=0.5, stream=StreamPolicy(ttft_s=0.5),
        fallback=("backup",) if config.use_fallback else ())
    wrappers = reliability_wrappers({"primary": policy, "backup": policy.model_copy(
        update={"fallback": ()})}, breakers=BreakerRegistry())
    pairs = {}
    for provider, info in ((primary, ModelInfo("primary", "sim", "p")),
                           (backup, ModelInfo("backup", "sim", "b"))):
        wrapped: Provider = provider
        for wrap in wrappers:
            wrapped = wrap(wrapped, info)
        pairs[info.name] = (wrapped, info)
    config.entry = pairs["primary"]


async def one(config: Config, start: float) -> None:
    assert config.entry is not None
    provider, info = config.entry
    began = time.monotonic()
    try:
        await provider.complete(REQUEST, info)
        ok = True
    except TransientProviderError:
        ok = False
    config.outcomes.append(Outcome(began - start, ok, time.monotonic() - began))


def summary(config: Config, window: tuple[float, float]) -> str:
    def stats(items: list[Outcome]) -> str:
        if not items:
            return "-"
        lat = sorted(o.latency * 1000 for o in items)
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        ok = sum(o.ok for o in items) / len(items)
        return (f"{ok:>7.1%} {statistics.median(lat):>7.0f} {p95:>7.0f} "
                f"{statistics.fmean(lat):>7.0f}")

    during = [o for o in config.outcomes if window[0] <= o.at < window[1]]
    assert config.primary is not None
    return (f"   {config.name:24} {stats(config.outcomes)}   |  {stats(during)}   | "
            f"{config.primary.calls:>6}")


async def outage(seconds: float, rate: float) -> None:
    window = (0.25 * seconds, 0.65 * seconds)
    rng = random.Random(7)
    arrivals: list[float] = []
    t = 0.0
    while True:
        t += rng.expovariate(rate)
        if t >= seconds:
            break
        arrivals.append(t)
    configs = [Config("retry only", False, False), Config("retry + breaker", True, False),
               Config("retry + fallback", False, True),
               Config("retry + breaker + fallback", True, True)]
    start = time.monotonic()
    for i, config in enumerate(configs):
        build(config, start, window, seed=100 + i)
    tasks = []
    for at in arrivals:
        delay = start + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.extend(asyncio.create_task(one(c, start)) for c in configs)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    print(f"2. simulated outage: {len(arrivals)} requests at {rate:g}/s over {seconds:g} s; "
          f"primary hangs (0.5 s call timeout) from {window[0]:g} s to {window[1]:g} s")
    print(f"   {'configuration':24} {'all requests':^31}   |  {'during the outage':^31}   | "
          "primary")
    print(f"   {'':24} {'success':>7} {'p50 ms':>7} {'p95 ms':>7} {'mean ms':>7}   |  "
          f"{'success':>7} {'p50 ms':>7} {'p95 ms':>7} {'mean ms':>7}   |  calls")
    for config in configs:
        print(summary(config, window))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--rate", type=float, default=40.0)
    args = parser.parse_args()
    logging.getLogger("aios.reliability").setLevel(logging.ERROR)  # thousands of events
    await overhead(args.calls, args.batches)
    await outage(args.seconds, args.rate)


if __name__ == "__main__":
    asyncio.run(main())
