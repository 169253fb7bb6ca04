"""Gateway overhead: median time of one `Gateway.complete` against a trivial in-process
provider, versus calling that provider directly, in the same run.

Four gateway set-ups are measured: bare (model choice, token estimate, cost), with the cost
ledger (a row queued per call on a SQLite store's batch writer), with the ledger and a
run budget (reserve + settle per call), and with the default guardrail checks (the prompt's
injection scan remembered after the first call, the answer's data checks in a worker thread
on every call). Target: under 1 ms of overhead per call.

Run: .venv/bin/python bench/gateway_overhead.py
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aios.llm import (
    BudgetLimit,
    BudgetManager,
    BudgetsConfig,
    CostLedger,
    Gateway,
    LLMRequest,
    LLMResponse,
    ModelInfo,
    StreamChunk,
    Usage,
)
from aios.security.guardrails import Guardrails
from aios.security.streaming import guardrail_wrapper
from aios.store import Store

CALLS = 3000
WARMUP = 200
PROMPT = "Summarise the state of this host in one sentence: load is fine, disks are fine."


class Trivial:
    """Answers at once: whatever time a call takes is the caller's overhead."""

    name = "trivial"

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        return LLMResponse(text="ok", model=model.name, provider=self.name,
                           usage=Usage(input_tokens=20, output_tokens=2))

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        yield StreamChunk(text="ok", usage=Usage(20, 2))


async def median_us(call: Callable[[], Awaitable[object]]) -> float:
    for _ in range(WARMUP):
        await call()
    samples = []
    for _ in range(CALLS):
        started = time.perf_counter_ns()
        await call()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1000.0


async def main() -> None:
    model = ModelInfo("m", "openai", "gpt-4o-mini", context_window=128_000,
                      max_output_tokens=64, input_price=0.15, output_price=0.6)
    provider = Trivial()
    request = LLMRequest.of(PROMPT, max_tokens=64)
    direct = await median_us(lambda: provider.complete(request, model))

    bare = Gateway({"m": model}, providers={"m": provider})
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        ledger = CostLedger(store)
        ledgered = Gateway({"m": model}, providers={"m": provider}, ledger=ledger)
        budgeted = Gateway({"m": model}, providers={"m": provider}, ledger=ledger,
                           budgets=BudgetManager(BudgetsConfig(run=BudgetLimit(usd=1e9)),
                                                 ledger))
        bound = budgeted.bind(run_id="bench-run", agent="bench", action="bench.call")
        guarded = Gateway({"m": model}, providers={"m": provider},
                          wrappers=[guardrail_wrapper(Guardrails())])
        results = {
            "gateway (bare)": await median_us(lambda: bare.complete(request)),
            "gateway + ledger": await median_us(lambda: ledgered.complete(request)),
            "gateway + ledger + run budget": await median_us(lambda: bound.complete(request)),
            "gateway + guardrails": await median_us(lambda: guarded.complete(request)),
        }
        await ledger.close()
        await store.close()

    print(f"calls per measurement: {CALLS} (after {WARMUP} warm-up calls); medians")
    print(f"{'provider called directly':32s} {direct:9.1f} us")
    for label, value in results.items():
        print(f"{label:32s} {value:9.1f} us   overhead {value - direct:8.1f} us   "
              f"ratio {value / direct:6.1f}x")
    worst = max(results.values()) - direct
    verdict = "meets" if worst < 1000 else "MISSES"
    print(f"worst overhead {worst:.1f} us per call: {verdict} the < 1 ms target")


if __name__ == "__main__":
    asyncio.run(main())
