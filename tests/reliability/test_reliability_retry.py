"""Retry: named errors only, bounded by attempts and total time, Retry-After, the no-sleep clock."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from aios.errors import (
    ActionTimeout,
    BudgetExceeded,
    CircuitOpen,
    ConfigError,
    DuplicateExecution,
    GuardrailTripped,
    InvalidOutput,
    PermanentProviderError,
    TransientProviderError,
)
from aios.reliability import (
    Classifier,
    GiveUp,
    NoSleepClock,
    ReliabilityPolicy,
    Retrier,
    RetryGaveUp,
    RetryPolicy,
    RetryScheduled,
)
from aios.reliability import retry as retry_module
from aios.reliability.events import Emitter


class Flaky:
    """Fails with `errors` in turn, then returns "ok"; counts calls."""

    def __init__(self, *errors: BaseException):
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, attempt: int) -> str:
        self.calls += 1
        assert attempt == self.calls
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def retrier(policy: RetryPolicy | None = None, events: list | None = None,
            clock: NoSleepClock | None = None, **kwargs) -> Retrier:
    return Retrier("model:test/m", policy or RetryPolicy(**kwargs),
                   clock=clock or NoSleepClock(),
                   emit=Emitter([events.append] if events is not None else []))


async def test_transient_failures_are_retried_until_success() -> None:
    events: list = []
    clock = NoSleepClock()
    fn = Flaky(TransientProviderError("503"), ActionTimeout("late"))
    result = await asyncio.wait_for(
        retrier(RetryPolicy(attempts=3), events, clock).call(fn), 5)
    assert result == "ok" and fn.calls == 3
    scheduled = [e for e in events if isinstance(e, RetryScheduled)]
    assert [e.attempt for e in scheduled] == [1, 2]
    assert len(clock.slept) == 2  # the waits happened on the clock, not for real


async def test_permanent_errors_run_once() -> None:
    for error in (PermanentProviderError("400 bad request", status=400), ValueError("bug"),
                  GuardrailTripped("no"), BudgetExceeded("over"), ConfigError("bad")):
        fn = Flaky(error)
        with pytest.raises(type(error)):
            await retrier(attempts=5).call(fn)
        assert fn.calls == 1, error


async def test_a_client_error_status_is_not_retried_even_if_marked_transient() -> None:
    fn = Flaky(TransientProviderError("422", status=422))
    with pytest.raises(TransientProviderError):
        await retrier(attempts=5).call(fn)
    assert fn.calls == 1
    fn = Flaky(TransientProviderError("429", status=429), TransientProviderError("409",
                                                                               status=409))
    assert await retrier(attempts=5).call(fn) == "ok"


async def test_deterministic_failures_are_never_retried_even_when_named() -> None:
    policy = RetryPolicy(attempts=5, retry_on=("ActionError", "ProviderError"))
    for error in (DuplicateExecution("twice"), PermanentProviderError("no"),
                  CircuitOpen("open", breaker="b")):
        fn = Flaky(error)
        with pytest.raises(type(error)):
            await retrier(policy).call(fn)
        assert fn.calls == 1, error


async def test_retry_on_names_more_types() -> None:
    fn = Flaky(ConnectionError("reset"), OSError("io"))
    assert await retrier(RetryPolicy(retry_on=("ConnectionError", "builtins:OSError"))).call(
        fn) == "ok"
    assert fn.calls == 3
    fn = Flaky(ConnectionError("reset"))
    with pytest.raises(ConnectionError):
        await retrier(attempts=3).call(fn)
    assert fn.calls == 1


def test_unknown_retry_on_name_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="NoSuchError"):
        RetryPolicy(retry_on=("NoSuchError",))
    with pytest.raises(ValidationError, match="not an exception type"):
        RetryPolicy(retry_on=("aios.errors:Issue",))
    with pytest.raises(ValidationError, match="initial_backoff_s"):
        RetryPolicy(initial_backoff_s=10, max_backoff_s=1)


async def test_gives_up_after_attempts_keeping_the_type_and_saying_why() -> None:
    events: list = []
    fn = Flaky(*[TransientProviderError("HTTP 503", provider="openai", status=503)] * 9)
    with pytest.raises(TransientProviderError) as info:
        await retrier(RetryPolicy(attempts=4), events).call(fn)
    assert fn.calls == 4
    assert info.value.provider == "openai" and info.value.status == 503
    assert "gave up after 4 attempts" in str(info.value) and "HTTP 503" in str(info.value)
    assert isinstance(info.value.__cause__, TransientProviderError)
    assert any(isinstance(e, RetryGaveUp) and e.attempts == 4 for e in events)


async def test_total_time_bounds_retries() -> None:
    clock = NoSleepClock()
    policy = RetryPolicy(attempts=100, initial_backoff_s=1, max_backoff_s=1, jitter=False,
                         max_total_s=3.5)
    fn = Flaky(*[TransientProviderError("down")] * 100)
    with pytest.raises(TransientProviderError, match=r"max_total_s=3\.5"):
        await retrier(policy, clock=clock).call(fn)
    assert sum(clock.slept) <= 3.5
    assert 3 <= fn.calls <= 5


async def test_backoff_is_exponential_and_capped() -> None:
    clock = NoSleepClock()
    policy = RetryPolicy(attempts=6, initial_backoff_s=1, max_backoff_s=4, jitter=False,
                         max_total_s=100)
    await retrier(policy, clock=clock).call(Flaky(*[TransientProviderError("x")] * 5))
    assert clock.slept == [1, 2, 4, 4, 4]


async def test_full_jitter_stays_within_the_backoff() -> None:
    clock = NoSleepClock()
    policy = RetryPolicy(attempts=8, initial_backoff_s=1, max_backoff_s=8, max_total_s=1000)
    await retrier(policy, clock=clock).call(Flaky(*[TransientProviderError("x")] * 7))
    caps = [1, 2, 4, 8, 8, 8, 8]
    assert all(0 <= s <= cap for s, cap in zip(clock.slept, caps, strict=True))
    assert len(set(clock.slept)) > 1


async def test_retry_after_is_honoured() -> None:
    clock = NoSleepClock()
    events: list = []
    policy = RetryPolicy(attempts=3, initial_backoff_s=0.1, max_backoff_s=0.1, max_total_s=60)
    fn = Flaky(TransientProviderError("429", status=429, retry_after=7.0))
    assert await retrier(policy, events, clock).call(fn) == "ok"
    assert clock.slept[0] >= 7.0
    assert events[0].retry_after_s == 7.0


async def test_retry_after_beyond_the_time_left_fails_now_saying_so() -> None:
    clock = NoSleepClock()
    policy = RetryPolicy(attempts=5, max_total_s=10)
    fn = Flaky(TransientProviderError("429 rate limited", status=429, retry_after=30.0))
    with pytest.raises(TransientProviderError, match="Retry-After") as info:
        await retrier(policy, clock=clock).call(fn)
    assert fn.calls == 1 and clock.slept == []
    assert "30 s" in str(info.value) and "max_total_s=10" in str(info.value)


async def test_the_success_path_uses_no_tenacity_machinery(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tenacity was built on the success path")

    monkeypatch.setattr(retry_module, "AsyncRetrying", refuse)
    fn = Flaky()
    assert await retrier(attempts=3).call(fn) == "ok"


async def test_a_veto_stops_retrying_with_the_original_error() -> None:
    seen: list[int] = []

    async def veto(error: BaseException, attempt: int) -> None:
        seen.append(attempt)
        raise GiveUp(error)

    error = TransientProviderError("half done")
    fn = Flaky(error, error)
    with pytest.raises(TransientProviderError) as info:
        await retrier(attempts=5).call(fn, veto=veto)
    assert info.value is error and fn.calls == 1 and seen == [1]
    assert not isinstance(info.value.__context__, GiveUp)


async def test_cancellation_is_never_retried() -> None:
    calls = 0

    async def hang(attempt: int) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(30)

    task = asyncio.create_task(retrier(attempts=5).call(hang))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert calls == 1


def test_classifier_decisions() -> None:
    c = Classifier.of()
    assert c.retryable(TransientProviderError("x"))
    assert not c.retryable(CircuitOpen("open"))
    assert c.falls_back(CircuitOpen("open")) and c.falls_back(TransientProviderError("x"))
    assert not c.falls_back(PermanentProviderError("bad request", status=400))
    # named explicitly, a permanent failure moves a chain on (a stronger model may do better)
    named = Classifier.of(fallback_on=("InvalidOutput",))
    assert named.falls_back(InvalidOutput("not JSON"))
    assert not named.retryable(InvalidOutput("not JSON"))
    assert not named.falls_back(DuplicateExecution("twice"))
    assert not Classifier.counts_against_breaker(PermanentProviderError("bad", status=400))
    assert Classifier.counts_against_breaker(TransientProviderError("503", status=503))
    assert ReliabilityPolicy().retry.attempts == 3
