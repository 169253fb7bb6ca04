"""Budgets (reserved before the call, settled after, shared by concurrent sub-calls, kept
across a resume) and the cost ledger (`llm_calls` rows with tokens by class), on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from tests.llm.llm_helpers import gateway_for, openai_spec
from tests.support import Reply

from aios.errors import BudgetExceeded, TransientProviderError
from aios.llm import (
    BudgetLimit,
    BudgetManager,
    BudgetsConfig,
    CallRecord,
    CostLedger,
    Gateway,
    LLMRequest,
    LLMResponse,
    ModelInfo,
    Usage,
    cost_usd,
)
from aios.store import Store
from aios.testing import ScriptedProvider, Turn


async def test_a_budget_too_small_refuses_before_any_request(server, gateways):
    gateway = gateway_for({"gpt": openai_spec(server)},
                          budgets=BudgetsConfig(run=BudgetLimit(tokens=50)))
    gateways.append(gateway)
    with pytest.raises(BudgetExceeded) as caught:
        await gateway.bind(run_id="r1").complete("hello", max_tokens=100)
    message = str(caught.value)
    assert "run budget of run r1" in message and "limit 50 tokens" in message
    assert "used 0" in message and "needs up to" in message and "budgets.run.tokens" in message
    with pytest.raises(BudgetExceeded):
        [c async for c in gateway.bind(run_id="r1").stream("hello", max_tokens=100)]
    assert server.requests == []


async def test_a_usd_budget_prices_the_worst_case(server, gateways):
    gateway = gateway_for({"gpt": openai_spec(server, model="gpt-4o")},
                          budgets=BudgetsConfig(agent=BudgetLimit(usd=0.001)))
    gateways.append(gateway)
    bound = gateway.bind(run_id="r1", agent="kernel")
    await bound.complete("hi", max_tokens=50)  # about $0.0005 at gpt-4o prices: fits
    with pytest.raises(BudgetExceeded, match=r"agent budget of kernel in run r1.*\$0\.001"):
        await bound.complete("hi", max_tokens=100_000 // 1000 * 10)
    assert len(server.requests) == 1


def gate(release: asyncio.Event) -> ScriptedProvider:
    """Echoes, holding every call until `release` is set, so calls overlap."""
    return ScriptedProvider(default=lambda request: Turn(
        request.messages[-1].content, usage=Usage(input_tokens=10, output_tokens=10),
        wait=release))


async def test_concurrent_sub_calls_share_the_run_budget():
    release = asyncio.Event()
    provider = gate(release)
    model = ModelInfo("m", "openai", "x", max_output_tokens=40)
    gateway = Gateway({"m": model}, providers={"m": provider},
                      budgets=BudgetManager(BudgetsConfig(run=BudgetLimit(tokens=100))))
    run = gateway.bind(run_id="r1")
    plan = await gateway.plan(LLMRequest.of("go"))
    worst = plan.prompt_tokens + plan.max_tokens
    assert 2 * worst <= 100 < 3 * worst  # room for exactly two reservations
    tasks = [asyncio.create_task(run.bind(action=f"a{i}").complete("go")) for i in range(3)]
    for _ in range(500):  # until all three reached the provider or were refused
        if len(provider.requests) + sum(t.done() for t in tasks) == 3:
            break
        await asyncio.sleep(0.01)
    assert len(provider.requests) == 2  # the third was refused while two were in flight
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(refused) == 1 and "reserved by calls in flight" in str(refused[0])
    # Settled at 20 real tokens each: the run has room again.
    assert (await run.complete("go")).text == "go"
    assert gateway.budgets is not None
    usage = gateway.budgets.usage(LLMRequest.of("x", run_id="r1"))
    assert usage[0]["used_tokens"] == 60 and usage[0]["reserved_tokens"] == 0


async def test_a_failed_call_releases_its_reservation(server, gateways):
    gateway = gateway_for({"gpt": openai_spec(server, max_output_tokens=30)},
                          budgets=BudgetsConfig(run=BudgetLimit(tokens=60)))
    gateways.append(gateway)
    server.script(Reply.error(503))
    with pytest.raises(TransientProviderError):
        await gateway.bind(run_id="r9").complete("hi")
    await gateway.bind(run_id="r9").complete("hi")  # fits: nothing was kept reserved


async def test_ledger_records_token_classes_cost_and_status(server, gateways, store: Store):
    gateway = gateway_for({"gpt": openai_spec(server, model="gpt-4o")}, store=store)
    gateways.append(gateway)
    server.script(Reply.ok("ok", usage=(2000, 500), cache_read=1500, reasoning=300),
                  Reply.error(429, "slow down"))
    bound = gateway.bind(run_id="run-ledger", agent="kernel", action="kernel.ps",
                         tenant="acme", user="ann")
    response = await bound.complete("hi")
    with pytest.raises(TransientProviderError):
        await bound.complete("again")
    assert gateway.ledger is not None
    rows = await gateway.ledger.calls(run_id="run-ledger")
    failed, ok = rows
    assert (ok.status, failed.status) == ("ok", "error")
    assert "429" in (failed.error or "") and failed.cost_usd == 0
    assert (ok.input_tokens, ok.output_tokens) == (2000, 500)
    assert (ok.cache_read_tokens, ok.reasoning_tokens, ok.counted) == (1500, 300, False)
    assert (ok.agent, ok.action, ok.tenant, ok.user) == ("kernel", "kernel.ps", "acme", "ann")
    assert ok.model == "gpt" and ok.model_id == "gpt-4o" and ok.provider == "openai"
    # 500 uncached at $2.50, 1500 cached at $1.25, 500 output (300 of them reasoning) at $10.
    expected = (500 * 2.5 + 1500 * 1.25 + 500 * 10.0) / 1e6
    assert ok.cost_usd == pytest.approx(expected) == pytest.approx(response.cost_usd)
    assert ok.latency_s is not None and ok.latency_s > 0
    spent = await gateway.ledger.spend(run_id="run-ledger")
    assert spent.tokens == 2500 and spent.usd == pytest.approx(expected)


async def test_a_resumed_run_keeps_its_spend(server, store: Store):
    budgets = BudgetsConfig(run=BudgetLimit(tokens=400))
    first = gateway_for({"gpt": openai_spec(server)}, budgets=budgets, store=store)
    server.script(Reply.ok("x", usage=(150, 150)))
    await first.bind(run_id="resumed").complete("hi", max_tokens=50)
    await first.aclose()
    # A new process: a new gateway on the same store.
    second = gateway_for({"gpt": openai_spec(server)}, budgets=budgets, store=store)
    try:
        with pytest.raises(BudgetExceeded, match="used 300"):
            await second.bind(run_id="resumed").complete("hi", max_tokens=200)
        await second.bind(run_id="another-run").complete("hi", max_tokens=200)
    finally:
        await second.aclose()
    assert len(server.requests) == 2


async def test_tenant_budgets_sum_their_period(store: Store):
    ledger = CostLedger(store)
    now = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
    ledger.record(CallRecord(at=now - timedelta(days=1), model="m", model_id="x",
                             provider="openai", status="ok", tenant="acme",
                             input_tokens=900, output_tokens=0))
    await ledger.flush()
    model = ModelInfo("m", "openai", "x", max_output_tokens=10)
    for period, allowed in (("day", True), ("total", False)):
        config = BudgetsConfig(tenant=BudgetLimit(tokens=1000, period=period))
        gateway = Gateway({"m": model}, providers={"m": ScriptedProvider()},
                          budgets=BudgetManager(config, ledger, clock=lambda: now))
        call = gateway.bind(tenant="acme").complete("x" * 400)
        if allowed:
            await call
        else:
            with pytest.raises(BudgetExceeded, match="tenant budget of acme"):
                await call
    await ledger.close()


async def test_cache_hits_are_recorded_but_spend_nothing(store: Store):
    class OneEntry:
        async def get(self, request, model):
            return LLMResponse("cached", "m", "openai", usage=Usage(100, 100))

        async def put(self, request, model, response):
            raise AssertionError("a hit is not stored again")

    ledger = CostLedger(store)
    gateway = Gateway({"m": ModelInfo("m", "openai", "x", input_price=1, output_price=1)},
                      providers={"m": ScriptedProvider()}, cache=OneEntry(), ledger=ledger)
    await gateway.bind(run_id="c1").complete("q")
    rows = await ledger.calls(run_id="c1")
    assert rows[0].cached and rows[0].cost_usd == 0
    assert (await ledger.spend(run_id="c1")).tokens == 0
    await ledger.close()


def test_cost_of_the_worst_case_uses_the_one_cost_function():
    # The reservation and the ledger price through the same function.
    from aios.llm.pricing import Prices, Rate

    assert cost_usd(Usage(1000, 1000), Prices(Rate(1.0), Rate(2.0))) == pytest.approx(0.003)


async def test_a_cancelled_call_is_recorded_and_releases_its_budget(store: Store):
    provider = gate(asyncio.Event())
    ledger = CostLedger(store)
    gateway = Gateway({"m": ModelInfo("m", "openai", "x", max_output_tokens=10)},
                      providers={"m": provider}, ledger=ledger,
                      budgets=BudgetManager(BudgetsConfig(run=BudgetLimit(tokens=1000)), ledger))
    task = asyncio.create_task(gateway.bind(run_id="cx").complete("go"))
    for _ in range(500):
        if provider.requests:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [c.status for c in await ledger.calls(run_id="cx")] == ["cancelled"]
    assert gateway.budgets is not None
    assert gateway.budgets.usage(LLMRequest.of("x", run_id="cx"))[0]["reserved_tokens"] == 0
    await ledger.close()


async def test_tool_call_pieces_pass_through_the_gateway_and_a_stopped_one_is_counted(
        store: Store):
    """The pieces reach the caller before the end; the response has the whole calls; a
    reader that stops after a few pieces leaves a `cancelled` row counting what arrived."""
    from aios.llm.types import ToolCall, ToolCallDelta

    call = ToolCall("c1", "lookup", '{"query": "rivers of the northern plains"}')
    provider = ScriptedProvider(
        Turn("", tool_calls=(call,), finish_reason="tool_calls", tool_pieces=5),
        Turn("", tool_calls=(call,), finish_reason="tool_calls", tool_pieces=5))
    ledger = CostLedger(store)
    gateway = Gateway({"m": ModelInfo("m", "openai", "x", input_price=1.0, output_price=2.0)},
                      providers={"m": provider}, ledger=ledger)
    chunks = [c async for c in gateway.bind(run_id="tp").stream("find rivers")]
    pieces = [d for c in chunks for d in c.tool_deltas]
    assert pieces[0] == ToolCallDelta(0, "c1", "lookup") and len(pieces) > 3
    assert "".join(p.arguments for p in pieces) == call.arguments
    final = chunks[-1].response
    assert final is not None and final.tool_calls == (call,) and final.ttft_s is not None

    source = gateway.bind(run_id="tq").stream("find rivers")
    for _ in range(4):
        await anext(source)
    await source.aclose()
    (row,) = await ledger.calls(run_id="tq")
    assert row.status == "cancelled" and row.counted and row.output_tokens > 0
    await ledger.close()
