"""Rows put with `within_s` (the cost ledger's) wait for the next batch, a flush, or their
deadline; they are never lost or reordered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from aios.llm.ledger import CallRecord, CostLedger, llm_calls
from aios.store import Store
from aios.store.writer import BatchWriter


def _call(n: int) -> dict[str, object]:
    return CallRecord(at=datetime.now(UTC), model=f"m{n}", model_id="m", provider="openai",
                      status="ok").row()


async def _models(store: Store) -> list[str]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(llm_calls.c.model).order_by(llm_calls.c.id))).all()
    return [r[0] for r in rows]


async def _wait_for_rows(store: Store, n: int) -> list[str]:
    """The rows once there are `n` (polling: they are committed by another task)."""
    for _ in range(3000):
        if len(found := await _models(store)) >= n:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {n} rows were committed")


async def test_a_row_put_within_a_deadline_is_committed_by_then_without_a_flush(
        store: Store) -> None:
    writer = BatchWriter(store)
    try:
        writer.put(llm_calls, _call(1), within_s=0.05)
        assert await _wait_for_rows(store, 1) == ["m1"]
        assert writer.batches == 1
    finally:
        await writer.close()


async def test_rows_put_within_a_deadline_go_with_the_next_batch_in_order(store: Store) -> None:
    writer = BatchWriter(store)
    try:
        for n in range(3):
            writer.put(llm_calls, _call(n), within_s=3600)  # the deadline never comes
        writer.put(llm_calls, _call(3))  # an ordinary row takes them along
        assert await _wait_for_rows(store, 4) == ["m0", "m1", "m2", "m3"]
        writer.put(llm_calls, _call(4), within_s=3600)
        await writer.flush()  # and a flush commits them
        assert await _models(store) == ["m0", "m1", "m2", "m3", "m4"]
        assert writer.batches == 2
    finally:
        await writer.close()


async def test_the_ledgers_rows_count_at_once_for_this_process(store: Store) -> None:
    ledger = CostLedger(store)
    try:
        for n in range(5):
            ledger.record(CallRecord(at=datetime.now(UTC), model="m", model_id="m",
                                     provider="openai", status="ok", tenant="acme",
                                     input_tokens=10, output_tokens=n, cost_usd=0.5))
        spent = await ledger.spend(tenant="acme")  # flushes what is queued first
        assert (spent.tokens, spent.usd) == (60, 2.5)
    finally:
        await ledger.close()
    async with store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(llm_calls))).scalar() == 5
