"""Circuit breakers: stop calling what keeps failing, try again after a cool-down.

closed --(failure rate over the window >= threshold, with at least min_calls)--> open
open --(cooldown_s elapsed)--> half_open: up to `half_open_calls` trial calls go through
half_open --(every trial succeeded)--> closed;  half_open --(a trial failed)--> open

The state machine is synchronous and in-process, so the hot path is a few comparisons. A
`BreakerRegistry` owns the breakers of a process; given a `BreakerStore` it writes each
transition to the shared `breakers` table and, at most once per `refresh_s`, reads the other
processes' transitions back in the background: a breaker opened by one process is seen open by
every process using the same store, without a database read on any call's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from aios.reliability.clock import Clock, SystemClock
from aios.reliability.events import BreakerTransition, Emitter, ReliabilityListener
from aios.reliability.policy import BreakerPolicy
from aios.reliability.store import BreakerRow, BreakerStore

__all__ = ["BreakerRegistry", "BreakerSnapshot", "BreakerState", "CircuitBreaker"]

log = logging.getLogger("aios.reliability")


class BreakerState(StrEnum):
    """The three states of a circuit breaker."""

    closed = "closed"
    open = "open"
    half_open = "half_open"


# Module constants: the call path compares against these instead of looking members up on
# the enum class each time (measurably slower on the hot path).
_CLOSED, _OPEN, _HALF_OPEN = BreakerState.closed, BreakerState.open, BreakerState.half_open


@dataclass(frozen=True)
class BreakerSnapshot:
    """A breaker as `aios breakers` shows it."""

    name: str
    state: str
    failure_rate: float
    calls: int
    failures: int
    opened_at: float | None  # epoch seconds
    retry_in: float
    reason: str


class CircuitBreaker:
    """One breaker: a sliding window of outcomes and a three-state machine.

    Use `before_call()` (None: go ahead; else seconds until a trial is allowed), then exactly
    one of `on_success()`, `on_failure(reason)` or `on_ignored()` for every call let through.
    """

    def __init__(self, name: str, policy: BreakerPolicy, clock: Clock,
                 registry: BreakerRegistry | None = None):
        self.name = name
        self.policy = policy
        self._clock = clock
        self._registry = registry
        # Read on every call: plain attributes, not look-ups through the policy model.
        self._poll = registry.poll if registry is not None and registry.store is not None \
            else None
        self._size = policy.window
        self._max_age = policy.window_s
        self.state = BreakerState.closed
        self._window: deque[tuple[float, bool]] = deque()
        self._failures = 0
        self.opened_at = 0.0  # monotonic, when open
        self.opened_wall: float | None = None
        self.changed_wall = 0.0  # wall time of the last transition, local or adopted
        self._trials = 0
        self._trial_successes = 0
        self.reason = ""

    # -- the call path -----------------------------------------------------------------------

    def before_call(self) -> float | None:
        """None when a call may proceed; else the seconds until the breaker tries again."""
        if self._poll is not None:
            self._poll()
        if self.state is _CLOSED:
            return None
        if self.state is _OPEN:
            wait = self.opened_at + self.policy.cooldown_s - self._clock.now()
            if wait > 0:
                return wait
            self._move(BreakerState.half_open, f"cool-down of {self.policy.cooldown_s:g} s over")
        if self._trials >= self.policy.half_open_calls:
            return 0.0  # the trial calls are in flight; their outcome decides
        self._trials += 1
        return None

    def on_success(self) -> None:
        """The call let through succeeded."""
        if self.state is _CLOSED:
            # Steady health: a full window without failures stays exactly that.
            if self._failures == 0 and self._max_age is None and len(self._window) >= self._size:
                return
            self._record(ok=True)
            return
        if self.state is _HALF_OPEN:
            self._trial_successes += 1
            if self._trial_successes >= self.policy.half_open_calls:
                self._move(BreakerState.closed,
                           f"{self._trial_successes} trial call(s) succeeded")

    def on_failure(self, reason: str) -> None:
        """The call let through failed in a way that says the dependency is unhealthy."""
        if self.state is BreakerState.half_open:
            self._open(f"trial call failed: {reason}")
            return
        if self.state is not BreakerState.closed:
            return
        self._record(ok=False)
        calls = len(self._window)
        if calls >= self.policy.min_calls and self._failures / calls >= self.policy.failure_rate:
            self._open(f"{self._failures} of the last {calls} calls failed (failure_rate "
                       f"{self.policy.failure_rate:g}); last: {reason}")

    def on_ignored(self) -> None:
        """The call ended in a way that says nothing about health (cancelled, bad request)."""
        if self.state is BreakerState.half_open and self._trials > self._trial_successes:
            self._trials -= 1

    # -- state ---------------------------------------------------------------------------------

    def rejection(self, wait: float) -> str:
        """Why a call was rejected, for the fail-fast error's message."""
        if self.state is BreakerState.half_open:
            return (f"circuit breaker {self.name} is half-open: its trial call(s) are in "
                    "flight and decide whether it closes")
        return (f"circuit breaker {self.name} is open ({self.reason}); calls fail fast for "
                f"{wait:.1f} s more")

    @property
    def failure_rate(self) -> float:
        """Failures / calls in the window (0 when empty)."""
        return self._failures / len(self._window) if self._window else 0.0

    def snapshot(self) -> BreakerSnapshot:
        """The current state, for display."""
        retry_in = 0.0
        if self.state is BreakerState.open:
            retry_in = max(self.opened_at + self.policy.cooldown_s - self._clock.now(), 0.0)
        return BreakerSnapshot(self.name, self.state.value, self.failure_rate, len(self._window),
                               self._failures, self.opened_wall, retry_in, self.reason)

    def _record(self, *, ok: bool) -> None:
        window = self._window
        max_age = self._max_age
        now = self._clock.now() if max_age is not None else 0.0
        window.append((now, ok))
        if not ok:
            self._failures += 1
        while len(window) > self._size or (
                max_age is not None and window and window[0][0] < now - max_age):
            _, old_ok = window.popleft()
            if not old_ok:
                self._failures -= 1

    def _open(self, reason: str) -> None:
        self.opened_at = self._clock.now()
        self.opened_wall = self._clock.wall()
        self._move(BreakerState.open, reason)

    def _move(self, new: BreakerState, reason: str) -> None:
        old = self.state
        rate, calls = self.failure_rate, len(self._window)
        self.state = new
        self.reason = reason
        self._trials = self._trial_successes = 0
        if new is BreakerState.closed:
            self._window.clear()
            self._failures = 0
            self.opened_wall = None
        self.changed_wall = self._clock.wall()
        if self._registry is not None:
            self._registry.transitioned(self, old, rate, calls)

    def adopt(self, row: BreakerRow) -> BreakerState | None:
        """Take on a newer state another process recorded; the old state if it changed."""
        if row.changed_at <= self.changed_wall:
            return None
        old = self.state
        new = BreakerState(row.state)
        self.changed_wall = row.changed_at
        self.reason = row.reason
        if new is old:
            return None
        self.state = new
        self._trials = self._trial_successes = 0
        if new is BreakerState.open:
            opened = row.opened_at if row.opened_at is not None else row.changed_at
            # Their wall time, our monotonic clock: the cool-down ends when it ends for them.
            self.opened_at = self._clock.now() - max(self._clock.wall() - opened, 0.0)
            self.opened_wall = opened
        elif new is BreakerState.closed:
            self._window.clear()
            self._failures = 0
            self.opened_wall = None
        return old


class BreakerRegistry:
    """The circuit breakers of one process, optionally shared through the store.

    Args:
        clock: time for windows and cool-downs.
        store: where transitions are written and read back (None: in-process only).
        refresh_s: how stale the shared view may be; the store is read at most this often,
            in the background.
        listeners: receive a `BreakerTransition` for every change, local or adopted.
    """

    def __init__(self, *, clock: Clock | None = None, store: BreakerStore | None = None,
                 refresh_s: float = 1.0, listeners: Iterable[ReliabilityListener] = (),
                 emit: Emitter | None = None):
        self.clock: Clock = clock or SystemClock()
        self.store = store
        self.refresh_s = refresh_s
        self.emit = emit or Emitter(listeners)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._breakers: dict[str, CircuitBreaker] = {}
        self._remote: dict[str, BreakerRow] = {}
        self._pending: dict[str, BreakerRow] = {}
        self._next_refresh = 0.0
        self._refreshing: asyncio.Task[None] | None = None
        self._writing: asyncio.Task[None] | None = None
        self._store_failed = False

    def get(self, name: str, policy: BreakerPolicy) -> CircuitBreaker:
        """The breaker called `name`, created with `policy` on first use."""
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = CircuitBreaker(name, policy, self.clock, self)
            row = self._remote.get(name)
            if row is not None:
                breaker.adopt(row)
        return breaker

    def breakers(self) -> list[CircuitBreaker]:
        """Every breaker created in this process, by name."""
        return [self._breakers[name] for name in sorted(self._breakers)]

    # -- sharing through the store -------------------------------------------------------------

    def transitioned(self, breaker: CircuitBreaker, old: BreakerState, rate: float,
                     calls: int) -> None:
        """Called by a breaker that changed state: emit, and queue the write."""
        self.emit(BreakerTransition(breaker.name, old.value, breaker.state.value, rate, calls,
                                    breaker.reason))
        if self.store is None:
            return
        queued = self._pending.get(breaker.name)  # not written yet: one write, both counted
        self._pending[breaker.name] = BreakerRow(
            name=breaker.name, state=breaker.state.value, opened_at=breaker.opened_wall,
            changed_at=breaker.changed_wall, failure_rate=rate, calls=calls,
            reason=breaker.reason[:2000], changed_by=self.owner,
            transitions=1 + (queued.transitions if queued is not None else 0))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        assert self.store is not None
        while self._pending:
            rows, self._pending = list(self._pending.values()), {}
            try:
                await self.store.save(rows)
            except Exception as exc:  # the breaker keeps working locally without the store
                self._warn_store(exc)
                return

    def poll(self) -> None:
        """Start a background refresh when the shared view is older than `refresh_s`."""
        if self.store is None:
            return
        now = self.clock.now()
        if now < self._next_refresh:
            return
        self._next_refresh = now + self.refresh_s
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:
            self._warn_store(exc)

    async def refresh(self) -> None:
        """Read every breaker's shared state now and adopt what other processes changed."""
        if self.store is None:
            return
        rows = await self.store.load()
        self._store_failed = False
        for row in rows:
            self._remote[row.name] = row
            breaker = self._breakers.get(row.name)
            if breaker is None:
                continue
            old = breaker.adopt(row)
            if old is not None:
                self.emit(BreakerTransition(row.name, old.value, row.state, row.failure_rate,
                                            row.calls, f"{row.reason} (by {row.changed_by})",
                                            source="store"))

    async def flush(self) -> None:
        """Wait until every transition so far is written to the store."""
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)
        if self._pending and self.store is not None:
            self._writing = asyncio.get_running_loop().create_task(self._write())
            await self._writing

    async def close(self) -> None:
        """Write pending transitions and stop the background refresh."""
        await self.flush()
        task = self._refreshing
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _warn_store(self, exc: Exception) -> None:
        if not self._store_failed:  # once per outage, not once per call
            log.warning("circuit breakers: the shared store failed (%s: %s); breakers keep "
                        "working in this process only until it answers again",
                        type(exc).__name__, exc)
        self._store_failed = True
