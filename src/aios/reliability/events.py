"""Reliability events as frozen records, handed to listeners and logged.

Every retry, breaker transition and fallback step is one record. Listeners are plain callables
(the tracing layer turns them into span events); a failing listener is logged, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["BreakerTransition", "Emitter", "FallbackSkipped", "FallbackUsed", "ReliabilityEvent",
           "ReliabilityListener", "RetryGaveUp", "RetryScheduled"]

log = logging.getLogger("aios.reliability")


@dataclass(frozen=True)
class RetryScheduled:
    """Attempt `attempt` of `target` failed transiently; the next one starts after `wait_s`.

    Attributes:
        target: `action:agent.key` or `model:provider/model`.
        attempt: the attempt that failed (1 = the first).
        wait_s: the wait before the next attempt (Retry-After included).
        error: `Type: message` of the failure.
        retry_after_s: what the provider asked for (Retry-After), if it did.
    """

    target: str
    attempt: int
    wait_s: float
    error: str
    retry_after_s: float | None = None


@dataclass(frozen=True)
class RetryGaveUp:
    """`target` failed `attempts` times, or ran out of time; `reason` says which."""

    target: str
    attempts: int
    elapsed_s: float
    error: str
    reason: str


@dataclass(frozen=True)
class BreakerTransition:
    """Circuit breaker `breaker` went from `old` to `new` (closed / open / half_open).

    Attributes:
        breaker: its name (`action:...`, `model:...`).
        old, new: the states.
        failure_rate: failures / calls in the window when it changed.
        calls: calls in the window.
        reason: why (threshold passed, trial succeeded, seen in the shared store, ...).
        source: `local`, or `store` when another process made the change.
    """

    breaker: str
    old: str
    new: str
    failure_rate: float
    calls: int
    reason: str
    source: str = "local"


@dataclass(frozen=True)
class FallbackUsed:
    """`failed` failed with `error`; the chain of `target` moves on to `next`."""

    target: str
    failed: str
    next: str
    error: str


@dataclass(frozen=True)
class FallbackSkipped:
    """The chain of `target` skipped `candidate` (it lacks a capability the call needs)."""

    target: str
    candidate: str
    reason: str


ReliabilityEvent = RetryScheduled | RetryGaveUp | BreakerTransition | FallbackUsed | \
    FallbackSkipped
ReliabilityListener = Callable[[ReliabilityEvent], None]

_LEVELS: dict[type, int] = {RetryScheduled: logging.INFO, RetryGaveUp: logging.WARNING,
                            BreakerTransition: logging.WARNING, FallbackUsed: logging.WARNING,
                            FallbackSkipped: logging.INFO}


class Emitter:
    """Hands each event to every listener, and to the `aios.reliability` logger."""

    def __init__(self, listeners: Iterable[ReliabilityListener] = ()):
        self.listeners = list(listeners)

    def __call__(self, event: ReliabilityEvent) -> None:
        """Emit `event`."""
        level = _LEVELS.get(type(event), logging.INFO)
        if log.isEnabledFor(level):
            log.log(level, "%s", event)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the call it observes
                log.exception("reliability listener %r failed", listener)
