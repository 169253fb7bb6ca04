"""`BatchWriter.commit`: a statement committed in one transaction with the rows queued before
it (how a run's end is recorded): both or neither."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from aios.errors import StoreError
from aios.store import RunStore, Store
from aios.store.tables import runs, step_events
from aios.store.writer import BatchWriter


async def _create(store: Store, run_id: str) -> None:
    await RunStore(store).create_run(run_id, kind="sequence", target="boot", forensic=False,
                                     manifest_name="m", manifest_path=None,
                                     manifest_digest="d", options={})


def _event(run_id: str, step: str) -> dict[str, object]:
    from aios.store.runs import utcnow

    return {"run_id": run_id, "step_id": step, "action": "k.a", "status": "succeeded",
            "attempt": 1, "at": utcnow(), "duration_ms": 1.0, "result": None, "error": None}


async def _steps(store: Store, run_id: str) -> list[str]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(step_events.c.step_id).where(
            step_events.c.run_id == run_id).order_by(step_events.c.id))).all()
    return [r[0] for r in rows]


async def test_the_statement_and_the_rows_queued_before_it_commit_together(
        store: Store) -> None:
    await _create(store, "r1")
    writer = BatchWriter(store)
    try:
        writer.put(step_events, _event("r1", "a"))
        writer.put(step_events, _event("r1", "b"))
        await writer.commit(update(runs).where(runs.c.id == "r1").values(status="succeeded"))
        assert await _steps(store, "r1") == ["a", "b"]
        async with store.engine.connect() as conn:
            status = (await conn.execute(select(runs.c.status).where(
                runs.c.id == "r1"))).scalar_one()
        assert status == "succeeded"
    finally:
        await writer.close()


async def test_a_refused_statement_takes_the_rows_of_its_transaction_with_it(
        store: Store) -> None:
    await _create(store, "r2")
    writer = BatchWriter(store)
    writer.put(step_events, _event("r2", "a"))
    # The run's id is taken: the store refuses this insert, the whole transaction with it.
    duplicate = insert(runs).values(
        id="r2", kind="sequence", target="boot", status="running", forensic=False,
        manifest_name="m", manifest_path=None, manifest_digest="d", options={})
    with pytest.raises(StoreError, match="refused a write"):
        await writer.commit(duplicate)
    assert await _steps(store, "r2") == []  # nothing half-written
    with pytest.raises(StoreError, match="stopped accepting writes"):
        writer.put(step_events, _event("r2", "b"))  # and nothing written after it
