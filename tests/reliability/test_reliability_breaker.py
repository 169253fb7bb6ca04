"""Circuit breakers: the state machine, the sliding window, and sharing through the store."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aios.reliability import (
    BreakerPolicy,
    BreakerRegistry,
    BreakerStore,
    BreakerTransition,
    NoSleepClock,
)
from aios.store import Store

POLICY = BreakerPolicy(window=10, min_calls=4, failure_rate=0.5, cooldown_s=30,
                       half_open_calls=2)


def fail(breaker, times: int) -> None:
    for _ in range(times):
        assert breaker.before_call() is None
        breaker.on_failure("HTTP 503")


def succeed(breaker, times: int) -> None:
    for _ in range(times):
        assert breaker.before_call() is None
        breaker.on_success()


def test_opens_at_the_failure_rate_only_after_min_calls() -> None:
    events: list = []
    registry = BreakerRegistry(clock=NoSleepClock(), listeners=[events.append])
    breaker = registry.get("model:p/m", POLICY)
    fail(breaker, 3)  # 100% failures but only 3 calls: below min_calls
    assert breaker.state == "closed"
    fail(breaker, 1)
    assert breaker.state == "open"
    wait = breaker.before_call()
    assert wait is not None and 29 < wait <= 30
    assert [(e.old, e.new) for e in events] == [("closed", "open")]
    assert "4 of the last 4 calls failed" in events[0].reason


def test_a_low_failure_rate_keeps_it_closed() -> None:
    breaker = BreakerRegistry(clock=NoSleepClock()).get("b", POLICY)
    for _ in range(5):
        succeed(breaker, 2)
        fail(breaker, 1)  # one in three: under the 50 % threshold
    assert breaker.state == "closed"
    assert 0.3 <= breaker.failure_rate <= 0.4


def test_the_window_forgets_old_calls() -> None:
    breaker = BreakerRegistry(clock=NoSleepClock()).get("b", POLICY)
    fail(breaker, 3)
    succeed(breaker, 10)  # the failures slide out of the 10-call window
    assert breaker.failure_rate == 0
    fail(breaker, 3)
    assert breaker.state == "closed"  # 3 of 10


def test_a_time_window_forgets_old_calls() -> None:
    clock = NoSleepClock()
    policy = POLICY.model_copy(update={"window_s": 60.0})
    breaker = BreakerRegistry(clock=clock).get("b", policy)
    fail(breaker, 3)
    clock.advance(61)
    succeed(breaker, 1)
    assert breaker.snapshot().calls == 1
    fail(breaker, 2)
    assert breaker.state == "closed"  # 2 of 3: min_calls not reached


def test_half_open_after_cooldown_then_closed_on_successful_trials() -> None:
    clock = NoSleepClock()
    events: list = []
    breaker = BreakerRegistry(clock=clock, listeners=[events.append]).get("b", POLICY)
    fail(breaker, 4)
    clock.advance(30.5)
    assert breaker.before_call() is None and breaker.state == "half_open"
    assert breaker.before_call() is None  # the second trial
    assert breaker.before_call() == 0.0  # trials in flight: others still fail fast
    breaker.on_success()
    assert breaker.state == "half_open"
    breaker.on_success()
    assert breaker.state == "closed"
    assert [e.new for e in events] == ["open", "half_open", "closed"]
    assert breaker.snapshot().calls == 0  # a fresh window after recovery


def test_half_open_reopens_on_a_failed_trial() -> None:
    clock = NoSleepClock()
    breaker = BreakerRegistry(clock=clock).get("b", POLICY)
    fail(breaker, 4)
    clock.advance(31)
    assert breaker.before_call() is None
    breaker.on_failure("still down")
    assert breaker.state == "open"
    wait = breaker.before_call()
    assert wait is not None and wait > 29  # a full cool-down again
    assert "trial call failed: still down" in breaker.reason


def test_an_ignored_trial_frees_its_slot() -> None:
    clock = NoSleepClock()
    breaker = BreakerRegistry(clock=clock).get("b", POLICY.model_copy(
        update={"half_open_calls": 1}))
    fail(breaker, 4)
    clock.advance(31)
    assert breaker.before_call() is None
    assert breaker.before_call() == 0.0
    breaker.on_ignored()  # cancelled: says nothing about health
    assert breaker.before_call() is None


# -- shared through the store ---------------------------------------------------------------


async def test_an_open_breaker_is_seen_by_another_registry_on_the_same_store(
        store: Store) -> None:
    clock = NoSleepClock()
    seen: list = []
    one = BreakerRegistry(clock=clock, store=BreakerStore(store), refresh_s=1.0)
    two = BreakerRegistry(clock=clock, store=BreakerStore(store), refresh_s=1.0,
                          listeners=[seen.append])
    a = one.get("model:openai/gpt", POLICY)
    b = two.get("model:openai/gpt", POLICY)
    fail(a, 4)
    await one.flush()
    assert b.state == "closed"  # not read on the call path ...
    await two.refresh()  # ... but on the next refresh
    assert b.state == "open"
    wait = b.before_call()
    assert wait is not None and 25 < wait <= 30  # the cool-down started when `one` opened it
    assert seen and seen[-1].source == "store" and seen[-1].new == "open"

    # The other process recovers it: half-open, then closed after trials; `one` follows.
    clock.advance(31)
    succeed(b, 2)
    assert b.state == "closed"
    await two.flush()
    await one.refresh()
    assert a.state == "closed"
    rows = {row.name: row for row in await BreakerStore(store).load()}
    assert rows["model:openai/gpt"].state == "closed"
    assert rows["model:openai/gpt"].transitions == 3  # open, half_open, closed
    await one.close()
    await two.close()


async def test_a_breaker_created_later_starts_from_the_shared_state(store: Store) -> None:
    clock = NoSleepClock()
    one = BreakerRegistry(clock=clock, store=BreakerStore(store))
    fail(one.get("action:kernel.restart", POLICY), 4)
    await one.flush()
    two = BreakerRegistry(clock=clock, store=BreakerStore(store))
    await two.refresh()
    assert two.get("action:kernel.restart", POLICY).state == "open"
    await one.close()
    await two.close()


async def test_the_call_path_refreshes_in_the_background(store: Store) -> None:
    clock = NoSleepClock()
    one = BreakerRegistry(clock=clock, store=BreakerStore(store))
    two = BreakerRegistry(clock=clock, store=BreakerStore(store), refresh_s=0.5)
    b = two.get("m", POLICY)
    assert b.before_call() is None  # starts the first refresh, does not wait for it
    b.on_success()
    fail(one.get("m", POLICY), 4)
    await one.flush()
    clock.advance(0.6)
    assert b.before_call() is None  # the view is stale: a refresh starts in the background
    b.on_success()
    await asyncio.wait_for(two._refreshing, 5)
    assert b.before_call() is not None
    await one.close()
    await two.close()


async def test_an_older_transition_never_overwrites_a_newer_one(store: Store) -> None:
    from aios.reliability.store import BreakerRow

    shared = BreakerStore(store)
    await shared.save([BreakerRow("x", "open", opened_at=200.0, changed_at=200.0)])
    await shared.save([BreakerRow("x", "closed", opened_at=None, changed_at=100.0)])
    (row,) = await shared.load()
    assert row.state == "open" and row.changed_at == 200.0


async def test_reset_closes_a_breaker_for_every_registry(store: Store) -> None:
    clock = NoSleepClock()
    one = BreakerRegistry(clock=clock, store=BreakerStore(store))
    fail(one.get("m", POLICY), 4)
    await one.flush()
    closed = await BreakerStore(store).reset("m", now=clock.wall(), by="test")
    assert closed == ["m"]
    await one.refresh()
    assert one.get("m", POLICY).state == "closed"
    await one.close()


_OTHER_PROCESS = textwrap.dedent("""
    import asyncio, sys
    from aios.reliability import BreakerPolicy, BreakerRegistry, BreakerStore
    from aios.store import Store

    async def main():
        store = await Store.open(sys.argv[1])
        registry = BreakerRegistry(store=BreakerStore(store))
        breaker = registry.get("model:openai/shared", BreakerPolicy(min_calls=3, cooldown_s=600))
        for _ in range(3):
            assert breaker.before_call() is None
            breaker.on_failure("HTTP 503 from the other process")
        await registry.close()
        await store.close()

    asyncio.run(main())
""")


async def test_a_breaker_opened_by_another_process_is_open_here(store_url: str,
                                                                 store: Store) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _OTHER_PROCESS, store_url,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    events: list[BreakerTransition] = []
    here = BreakerRegistry(store=BreakerStore(store), listeners=[events.append])
    await here.refresh()
    breaker = here.get("model:openai/shared", BreakerPolicy(min_calls=3, cooldown_s=600))
    assert breaker.state == "open"
    wait = breaker.before_call()
    assert wait is not None and wait > 500
    assert "other process" in breaker.reason
    await here.close()


async def test_a_failing_store_does_not_break_the_breaker(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    registry = BreakerRegistry(clock=NoSleepClock(), store=BreakerStore(store), refresh_s=0)
    await store.close()
    async with store.engine.begin() as conn:  # make the table vanish under the registry
        from sqlalchemy import text

        await conn.execute(text("DROP TABLE breakers"))
    breaker = registry.get("m", POLICY)
    fail(breaker, 4)
    assert breaker.state == "open"
    await registry.flush()
    await registry.close()
    assert "shared store failed" in caplog.text
    await store.close()
