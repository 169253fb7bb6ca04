"""Retries on tenacity: named errors only, bounded in attempts and total time, full jitter.

The first attempt runs without any tenacity machinery (a plain `await`), so the success path
costs one clock read and a try block. Only after a retryable failure does a tenacity
`AsyncRetrying` loop take over; it sees that first failure replayed as its own attempt 1, so
its backoff, stop and hooks count attempts exactly as if it had run from the start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception
from tenacity.wait import wait_base, wait_exponential, wait_random_exponential

from aios.reliability.classify import Classifier, describe, restate
from aios.reliability.clock import Clock, SystemClock
from aios.reliability.events import Emitter, RetryGaveUp, RetryScheduled
from aios.reliability.policy import RetryPolicy

__all__ = ["Attempt", "GiveUp", "Retrier", "Veto"]

T = TypeVar("T")

#: One attempt: called with the attempt number (1 for the first).
Attempt = Callable[[int], Awaitable[T]]


class GiveUp(Exception):
    """Raised by a veto to stop retrying: `error` is raised instead, as it is."""

    def __init__(self, error: BaseException):
        self.error = error
        super().__init__(str(error))


#: Asked before each retry with the failure and the attempt that failed; raises `GiveUp` to
#: stop (a mutating action whose side effect may have happened, say).
Veto = Callable[[BaseException, int], Awaitable[None]]


class Retrier:
    """Retries one target's transient failures under a `RetryPolicy`.

    Args:
        target: what is retried, for events and messages (`action:agent.key`,
            `model:openai/gpt-4o`).
        policy: attempts, backoff, total time, extra retryable types.
        classifier: which failures are retryable (default: from the policy's `retry_on`).
        clock: time and sleeping; `NoSleepClock()` turns the waits off.
        emit: receives a `RetryScheduled` before each wait and a `RetryGaveUp` at the end.
    """

    def __init__(self, target: str, policy: RetryPolicy, *, classifier: Classifier | None = None,
                 clock: Clock | None = None, emit: Emitter | None = None):
        self.target = target
        self.policy = policy
        self.classifier = classifier or Classifier.of(policy.retry_on)
        self.clock: Clock = clock or SystemClock()
        self.emit = emit or Emitter()
        self._backoff: wait_base = (
            wait_random_exponential(multiplier=policy.initial_backoff_s,
                                    max=policy.max_backoff_s) if policy.jitter
            else wait_exponential(multiplier=policy.initial_backoff_s, max=policy.max_backoff_s))

    async def call(self, attempt: Attempt[T], *, veto: Veto | None = None) -> T:
        """Run `attempt(1)`, and retry it while it fails transiently and the policy allows.

        Raises:
            Exception: a non-retryable failure as it is; the last retryable failure, restated
                (same type) with how many attempts were made and why retrying stopped.
        """
        started = self.clock.now()
        try:
            return await attempt(1)
        except Exception as exc:
            if self.policy.attempts <= 1 or not self.classifier.retryable(exc):
                raise
            first = exc
        return await self._retry(attempt, first, started, veto)

    async def _retry(self, attempt: Attempt[T], first: Exception, started: float,
                     veto: Veto | None) -> T:
        policy, clock = self.policy, self.clock
        deadline = started + policy.max_total_s
        replay: list[Exception] = [first]
        why_stop: list[str] = []

        numbers = iter(range(2, policy.attempts + 1))

        async def once() -> T:
            if replay:  # attempt 1 already ran in `call`: hand tenacity its outcome
                raise replay.pop()
            return await attempt(next(numbers))

        def wait(state: RetryCallState) -> float:
            exc = _failure(state)
            remaining = deadline - clock.now()
            after = getattr(exc, "retry_after", None)
            if isinstance(after, int | float) and after > remaining:
                why_stop.append(
                    f"the provider asked to wait {after:g} s before retrying (Retry-After), "
                    f"more than the {max(remaining, 0):.3g} s left of retry.max_total_s="
                    f"{policy.max_total_s:g}; raise max_total_s or add a fallback")
                return 0.0
            pause = self._backoff(state)
            if isinstance(after, int | float):
                pause = max(pause, float(after))
            return max(min(pause, remaining), 0.0)

        def stop(state: RetryCallState) -> bool:
            if why_stop:
                return True
            if state.attempt_number >= policy.attempts:
                why_stop.append(f"gave up after {state.attempt_number} attempts "
                                f"(retry.attempts={policy.attempts})")
                return True
            if clock.now() >= deadline:
                why_stop.append(f"gave up after {state.attempt_number} attempts: "
                                f"retry.max_total_s={policy.max_total_s:g} s used up")
                return True
            return False

        async def before_sleep(state: RetryCallState) -> None:
            exc = _failure(state)
            if veto is not None:
                await veto(exc, state.attempt_number)
            after = getattr(exc, "retry_after", None)
            self.emit(RetryScheduled(self.target, state.attempt_number, state.upcoming_sleep,
                                     describe(exc), after if isinstance(after, int | float)
                                     else None))

        def give_up(state: RetryCallState) -> T:
            exc = _failure(state)
            reason = why_stop[-1] if why_stop else "stopped"
            self.emit(RetryGaveUp(self.target, state.attempt_number, clock.now() - started,
                                  describe(exc), reason))
            raise restate(exc, f"{self.target}: {exc} ({reason})")

        retrying = AsyncRetrying(
            sleep=clock.sleep, stop=stop, wait=wait,
            retry=retry_if_exception(self.classifier.retryable),
            before_sleep=before_sleep, retry_error_callback=give_up, reraise=True)
        try:
            return await retrying(once)
        except GiveUp as stopped:
            error = stopped.error
        raise error  # outside the handler, so GiveUp does not become its context


def _failure(state: RetryCallState) -> Exception:
    outcome = state.outcome
    assert outcome is not None and outcome.failed  # tenacity calls these hooks after a failure
    exc = outcome.exception()
    assert isinstance(exc, Exception)
    return exc
