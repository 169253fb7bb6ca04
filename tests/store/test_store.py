"""The store on real SQLite and PostgreSQL: migrations, runs, claims, batching, bad URLs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, text

from aios.errors import ConflictError, NotFoundError, StoreError, StoreUnreachable
from aios.manifest import Manifest
from aios.runtime import ActionContext, HandlerRegistry, Runtime, handler
from aios.store import RunStore, Store, normalise_url, redact_url


async def test_migrations_create_the_core_tables(store: Store) -> None:
    async with store.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"runs", "step_events", "run_metadata", "idempotency"} <= tables


async def test_opening_twice_is_idempotent(store_url: str) -> None:
    first = await Store.open(store_url)
    await first.close()
    second = await Store.open(store_url)
    await second.close()


async def create(runs: RunStore, run_id: str) -> None:
    await runs.create_run(run_id, kind="sequence", target="boot", forensic=False,
                          manifest_name="m", manifest_path=None, manifest_digest="d",
                          options={"env": {"A": "1"}})


async def test_run_lifecycle_is_recorded_in_order(runs: RunStore) -> None:
    await create(runs, "run1")
    runs.step_event("run1", "a", "k.a", "running")
    runs.step_event("run1", "a", "k.a", "succeeded", duration_ms=1.5, result={"x": [1, 2]})
    runs.step_event("run1", "b", "k.b", "running")
    runs.publish("run1", "k.a", "load", {"one": 0.5})
    await runs.finish_run("run1", "failed", "b broke")
    record = await runs.get_run("run1")
    assert record.status == "failed" and record.error == "b broke"
    assert [(s.step_id, s.status) for s in record.steps] == [("a", "succeeded"),
                                                             ("b", "running")]
    assert record.steps[0].result == {"x": [1, 2]}
    assert record.metadata == {"k.a": {"load": {"one": 0.5}}}
    assert record.options == {"env": {"A": "1"}}
    assert record.finished_at is not None and record.created_at.tzinfo is not None


async def test_results_that_are_not_json_are_stored_as_text(runs: RunStore) -> None:
    await create(runs, "run2")
    runs.step_event("run2", "a", "k.a", "succeeded", result={"path": Path("/tmp"), "s": {1}})
    await runs.writer.flush()
    (step,) = (await runs.get_run("run2")).steps
    assert step.result == {"path": "/tmp", "s": "{1}"}


async def test_list_runs_newest_first(runs: RunStore) -> None:
    for i in range(3):
        await create(runs, f"r{i}")
        await asyncio.sleep(0.01)
    assert [r.id for r in await runs.list_runs(limit=2)] == ["r2", "r1"]
    assert await runs.count_runs() == 3


async def test_unknown_and_ambiguous_run_ids(runs: RunStore) -> None:
    await create(runs, "abc1")
    await create(runs, "abc2")
    with pytest.raises(NotFoundError, match="no run with id 'zz'"):
        await runs.get_run("zz")
    with pytest.raises(NotFoundError, match="ambiguous"):
        await runs.get_run("abc")
    with pytest.raises(NotFoundError):
        await runs.get_run("%")  # LIKE wildcards are escaped


async def test_a_run_left_running_by_a_dead_process_reads_as_interrupted(
        runs: RunStore) -> None:
    await create(runs, "dead")
    from sqlalchemy import update

    from aios.store.tables import runs as runs_table

    async with runs.store.engine.begin() as conn:
        await conn.execute(update(runs_table).values(pid=2**22 + 12345))
    assert (await runs.get_run("dead")).status == "interrupted"


async def test_only_one_of_many_concurrent_claims_wins(runs: RunStore) -> None:
    await create(runs, "c")
    results = await asyncio.gather(*(runs.claim("key-1", run_id="c", step_id="s", action="a")
                                     for _ in range(10)))
    assert sum(r is None for r in results) == 1
    losers = [r for r in results if r is not None]
    assert all(r.status == "started" for r in losers)
    await runs.settle("key-1", "succeeded", result={"ok": True})
    claim = await runs.get_claim("key-1")
    assert claim is not None and claim.status == "succeeded" and claim.result == {"ok": True}


async def test_of_many_concurrent_resumes_of_one_run_exactly_one_claims_it(
        runs: RunStore) -> None:
    await create(runs, "w")
    await runs.finish_run("w", "waiting", "a step waits for approval")
    results = await asyncio.gather(*(runs.reopen_run("w", resumer=f"r{i}") for i in range(8)),
                                   return_exceptions=True)
    assert sum(r is None for r in results) == 1
    losers = [r for r in results if r is not None]
    assert len(losers) == 7 and all(isinstance(r, ConflictError) for r in losers)
    assert all(f"process {os.getpid()} on this host" in str(r) for r in losers)
    record = await runs.get_run("w")
    assert record.status == "running" and record.pid == os.getpid() and record.error is None
    assert len(record.resumed_by) == 1  # only the winner is recorded
    runs.release("w")  # no driver here: the claim ends with the test


async def test_a_run_held_by_a_live_process_is_not_claimed_and_the_error_says_by_whom(
        runs: RunStore) -> None:
    from sqlalchemy import update

    from aios.store.tables import runs as runs_table

    await create(runs, "held")
    async with runs.store.engine.begin() as conn:  # another live process of this host
        await conn.execute(update(runs_table).values(pid=os.getppid()))
    with pytest.raises(ConflictError, match=rf"process {os.getppid()} on this host.*nothing "
                                            "was written.*resume it again"):
        await runs.reopen_run("held", resumer="bob")
    record = await runs.get_run("held")
    assert record.pid == os.getppid() and record.resumed_by == ()
    # Once that process is gone, the run reads as interrupted and can be claimed.
    async with runs.store.engine.begin() as conn:
        await conn.execute(update(runs_table).values(pid=2**22 + 12345))
    await runs.reopen_run("held", resumer="bob")
    record = await runs.get_run("held")
    assert record.status == "running" and record.pid == os.getpid()
    assert record.resumed_by == ("bob",)
    runs.release("held")
    with pytest.raises(NotFoundError):
        await runs.reopen_run("nope")


async def test_a_run_on_another_host_with_a_fresh_heartbeat_is_refused_naming_its_executor(
        runs: RunStore) -> None:
    from sqlalchemy import update

    from aios.store.tables import runs as runs_table

    await create(runs, "busy")  # created now: its heartbeat is fresh
    async with runs.store.engine.begin() as conn:  # a live driver on another machine
        await conn.execute(update(runs_table).values(pid=4242, host="worker-7"))
    with pytest.raises(ConflictError, match=r"process 4242 on host worker-7 \(its heartbeat "
                                            r"is \d+s old.*nothing was written"):
        await runs.reopen_run("busy", resumer="bob")
    record = await runs.get_run("busy")
    assert (record.host, record.pid, record.resumed_by) == ("worker-7", 4242, ())


@pytest.mark.parametrize("heartbeat", ["stale", "none"])
async def test_a_run_on_another_host_whose_heartbeat_stopped_is_taken_over_with_a_warning(
        runs: RunStore, caplog: pytest.LogCaptureFixture, heartbeat: str) -> None:
    # Its process cannot be checked from here; a driver on a replaced machine (a new
    # container after an upgrade, a restored dump) must stay resumable once it stopped beating.
    from datetime import timedelta

    from sqlalchemy import update

    from aios.store.runs import utcnow
    from aios.store.tables import runs as runs_table

    await create(runs, "away")
    beat = utcnow() - timedelta(seconds=runs.heartbeats.stale_after_s + 1)
    async with runs.store.engine.begin() as conn:
        await conn.execute(update(runs_table).values(
            pid=os.getpid(), host="old-container",
            heartbeat_at=beat if heartbeat == "stale" else None))
    await runs.reopen_run("away")
    record = await runs.get_run("away")
    assert record.status == "running" and record.host != "old-container"
    assert record.heartbeat_at is not None and record.heartbeat_at > beat
    assert "host old-container" in caplog.text and "taking it over" in caplog.text
    assert ("s old" if heartbeat == "stale" else "missing") in caplog.text


async def test_the_executing_process_refreshes_the_heartbeat_until_released(
        store: Store) -> None:
    runs = RunStore(store, heartbeat_s=0.05)
    try:
        await create(runs, "beating")
        first = (await runs.get_run("beating")).heartbeat_at
        runs.hold("beating")
        assert "beating" in runs.heartbeats.executing()
        for _ in range(2000):  # a condition, not a duration: the next heartbeat
            beat = (await runs.get_run("beating")).heartbeat_at
            if beat is not None and first is not None and beat > first:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the heartbeat was never refreshed")
        # Another task of this process cannot claim it while it beats (read with the
        # default interval: fresh for 30 s, however slow this machine is now).
        with pytest.raises(ConflictError, match=rf"process {os.getpid()} on this host"):
            await RunStore(store).reopen_run("beating")
        runs.release("beating")
        assert runs.heartbeats.executing() == frozenset()
        await runs.finish_run("beating", "waiting", "a step waits")
        assert (await runs.get_run("beating")).heartbeat_at is None  # stopped: none
    finally:
        await runs.writer.close()


GATE: dict[str, asyncio.Event] = {}


@handler("beat.wait")
async def wait_for_gate(ctx: ActionContext) -> str:
    await GATE["open"].wait()
    return "done"


async def test_a_run_beats_while_its_driver_executes_it_and_stops_when_it_ends(
        store: Store) -> None:
    registry = HandlerRegistry()
    registry.add(wait_for_gate)
    manifest = Manifest.model_validate({
        "agents": {"beat": {"actions": {"wait": {"handler": "beat.wait"}}}}})
    runs = RunStore(store, heartbeat_s=0.05)
    GATE["open"] = asyncio.Event()
    task = asyncio.create_task(Runtime(manifest, runs, registry=registry).execute(
        "beat.wait", run_id="driven"))
    try:
        beats: set[Any] = set()
        for _ in range(3000):  # until the row shows two distinct heartbeats
            if await runs.count_runs():
                beats.add((await runs.get_run("driven")).heartbeat_at)
            if len(beats - {None}) >= 2:
                break
            await asyncio.sleep(0.01)
        assert len(beats - {None}) >= 2, beats
        with pytest.raises(ConflictError, match="its heartbeat is"):
            await RunStore(store).reopen_run("driven")  # another store of this process
    finally:
        GATE["open"].set()
        result = await task
        await runs.writer.close()
    assert result.status == "succeeded"
    assert runs.heartbeats.executing() == frozenset()
    assert (await runs.get_run("driven")).heartbeat_at is None


async def test_flush_is_a_barrier_for_everything_queued_before(runs: RunStore) -> None:
    await create(runs, "f")
    for i in range(500):
        runs.step_event("f", f"s{i}", "k.a", "succeeded")
    await runs.writer.flush()
    assert len((await runs.get_run("f")).steps) == 500
    assert runs.writer.batches < 500  # rows were grouped into transactions


def test_plain_urls_get_async_drivers_and_passwords_are_hidden() -> None:
    assert normalise_url("sqlite:////x/a.db") == "sqlite+aiosqlite:////x/a.db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert "secret" not in redact_url("postgresql+asyncpg://u:secret@h/db")


async def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreUnreachable) as info:
        await Store.open("postgresql://nobody:pw@127.0.0.1:1/none")
    message = str(info.value)
    assert "AIOS_DATABASE_URL" in message and "pw" not in message
    assert info.value.exit_code == 2


async def test_malformed_and_unknown_urls_are_clear_errors() -> None:
    with pytest.raises(StoreUnreachable, match="not a URL"):
        await Store.open("just-a-path.db")
    with pytest.raises(StoreUnreachable, match="cannot use store URL"):
        await Store.open("nosuchdb://x/y")


async def test_unwritable_sqlite_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnreachable, match="AIOS_HOME"):
        await Store.open(f"sqlite:///{blocker}/sub/aios.db")


async def test_flush_waits_for_a_batch_already_being_committed(runs: RunStore) -> None:
    await create(runs, "g")
    runs.step_event("g", "a", "k.a", "succeeded")
    await asyncio.sleep(0)  # let the writer take the batch off the queue
    await runs.writer.flush()
    from sqlalchemy import func, select

    from aios.store.tables import step_events

    async with runs.store.engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(step_events).where(
            step_events.c.run_id == "g"))).scalar()
    assert count == 1


@handler("full.big")
async def big_result(ctx: ActionContext) -> str:
    return "secret-looking-result " + "x" * 20_000


async def test_a_full_disk_stops_the_run_clearly_and_resume_finishes_it(tmp_path: Path) -> None:
    # SQLite's page limit fails writes exactly as a full disk does (SQLITE_FULL).
    url = f"sqlite+aiosqlite:///{tmp_path / 'full.db'}"
    store = await Store.open(url)
    async with store.engine.connect() as conn:
        pages = int((await conn.execute(text("PRAGMA page_count"))).scalar_one())

    def limit(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA max_page_count = {pages + 30}")
        cursor.close()

    event.listen(store.engine.sync_engine, "connect", limit)
    await store.engine.dispose()  # new connections get the limit
    registry = HandlerRegistry()
    registry.add(big_result)
    manifest = Manifest.model_validate({
        "agents": {"full": {"actions": {"big": {"handler": "full.big"}}}},
        "sequences": {"chain": {"steps": [
            {"id": f"s{i}", "action": "full.big", **({"depends_on": [f"s{i - 1}"]} if i else {})}
            for i in range(30)]}}})
    runs = RunStore(store)
    with pytest.raises(StoreError) as refused:
        await Runtime(manifest, runs, registry=registry).run("chain")
    message = str(refused.value)
    assert "disk is full" in message and "Free disk space" in message
    assert "aios runs resume" in message
    assert "INSERT" not in message and "secret-looking" not in message  # no SQL, no rows
    with pytest.raises(StoreError, match="stopped accepting writes"):
        await runs.writer.close()
    await store.close()

    # Space is freed (a new connection without the limit): the run resumes and finishes.
    store = await Store.open(url)
    async with store.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA integrity_check"))).scalar_one() == "ok"
    # Its row still names this process with the heartbeat of its last moment; `aios runs
    # resume` in a new process takes it at once (its process is gone), this one once the
    # heartbeat is stale: three intervals of 10 ms.
    runs = RunStore(store, heartbeat_s=0.01)
    (stopped,) = await runs.list_runs()
    from aios.store.runs import utcnow

    for _ in range(1000):  # a condition, not a nap: until the heartbeat is stale
        if not runs.heartbeats.fresh(stopped.heartbeat_at, utcnow()):
            break
        await asyncio.sleep(0.01)
    result = await Runtime(manifest, runs, registry=registry).resume(stopped.id)
    assert result.status == "succeeded" and len(result.steps) == 30
    await runs.writer.close()
    await store.close()


def test_database_errors_are_shown_without_the_statement_or_its_values() -> None:
    from sqlalchemy.exc import OperationalError

    from aios.store import database_error

    exc = OperationalError("INSERT INTO llm_cache (prompt) VALUES (?)",
                           ("my password is hunter2",), Exception("database or disk is full"))
    shown = database_error(exc)
    assert "database or disk is full" in shown
    assert "hunter2" not in shown and "INSERT" not in shown
    assert database_error(OSError()) == "OSError"


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(store: Store) -> None:
    # SQLite skips the pool's rollback after a finished transaction (one hop to the driver's
    # thread less per commit); a connection given back with a transaction still open must
    # still be rolled back, or its write lock would block every other writer.
    await create(RunStore(store), "r0")
    def behind_its_back(sync_conn: Any) -> None:  # a transaction unknown to the Connection
        cursor = sync_conn.connection.dbapi_connection.cursor()
        cursor.execute("UPDATE runs SET status = 'failed' WHERE id = 'r0'")
        cursor.close()

    async with store.engine.connect() as conn:
        await conn.run_sync(behind_its_back)
    async with store.engine.begin() as conn:  # would wait for the lock if it were kept
        await conn.execute(text("UPDATE runs SET error = 'x' WHERE id = 'r0'"))
    async with store.engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, error FROM runs WHERE id = 'r0'"))).one()
    assert tuple(row) == ("running", "x")


async def test_no_rollback_follows_a_committed_transaction_on_sqlite(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("SQLite's pool reset")
    rollbacks: list[object] = []
    event.listen(store.engine.sync_engine.pool, "reset",
                 lambda conn, record, state: rollbacks.append(
                     record.driver_connection.in_transaction))
    await create(RunStore(store), "r1")
    assert rollbacks == [False]  # checked in with nothing open: nothing to roll back
