"""Time as an object passed in: the real clock, or one that skips its sleeps (tests, benches).

Retries, breakers and the bench read time only through a `Clock`, so a test turns every
backoff into an instant by handing in `NoSleepClock()`; nothing checks whether it runs
under tests, and no global switch is flipped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

__all__ = ["Clock", "NoSleepClock", "SystemClock", "within"]

T = TypeVar("T")


async def within(seconds: float, call: Awaitable[T], expired: Callable[[], Exception]) -> T:
    """`await call`, cancelled after `seconds`; then `expired()` is raised (from the
    `TimeoutError`). A `TimeoutError` the call raised itself passes through unchanged: only
    our own deadline is ours to translate."""
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await call
    except TimeoutError as exc:
        if not deadline.expired():
            raise
        raise expired() from exc


class Clock(Protocol):
    """Monotonic time, wall time and sleeping."""

    def now(self) -> float:
        """Monotonic seconds: for durations and deadlines within this process."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch: for timestamps shared with other processes."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""
        ...


class SystemClock:
    """The real clock: `time.monotonic`, `time.time`, `asyncio.sleep`."""

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def wall(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        await asyncio.sleep(seconds)


class NoSleepClock:
    """A clock whose sleeps return at once but still move its time forward.

    Real time keeps flowing underneath (a slow call still takes time); each skipped sleep
    and each `advance` adds to an offset, so deadlines and breaker cool-downs behave as if
    the waits had happened.

    Attributes:
        slept: every sleep asked for, in seconds, in order.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self.slept: list[float] = []

    def now(self) -> float:
        """Monotonic seconds plus every skipped sleep."""
        return time.monotonic() + self._offset

    def wall(self) -> float:
        """Epoch seconds plus every skipped sleep."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move this clock forward without waiting (a breaker's cool-down, say)."""
        self._offset += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the sleep, move time forward, and yield to the loop once."""
        self.slept.append(seconds)
        self._offset += max(seconds, 0.0)
        await asyncio.sleep(0)
