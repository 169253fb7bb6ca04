"""Reliability: retries (tenacity), circuit breakers, fallback chains, bulkheads, stream time
limits, the runtime's `ReliabilityLayer`, the gateway's provider wrappers, and the reliability
calculator.

No module here imports the manifest: the layer takes the manifest's `reliability:` section and
a lookup of action specs, the calculator its `sequences:`, so the manifest schema can import
`aios.reliability.policy` and this package can re-export everything directly.
"""

from __future__ import annotations

from aios.reliability.bulkheads import Bulkhead
from aios.reliability.calculator import (
    MeasuredReport,
    SequenceForecast,
    end_to_end,
    measure,
    required_per_step,
)
from aios.reliability.circuit import BreakerRegistry, BreakerSnapshot, BreakerState, CircuitBreaker
from aios.reliability.classify import Classifier
from aios.reliability.clock import Clock, NoSleepClock, SystemClock
from aios.reliability.events import (
    BreakerTransition,
    FallbackSkipped,
    FallbackUsed,
    ReliabilityEvent,
    ReliabilityListener,
    RetryGaveUp,
    RetryScheduled,
)
from aios.reliability.fallback import Alternative, Fallback
from aios.reliability.layer import ReliabilityLayer
from aios.reliability.policy import (
    DEFAULT_MODEL_POLICY,
    BreakerPolicy,
    ReliabilityPolicy,
    RetryPolicy,
    StreamPolicy,
    policy_for,
)
from aios.reliability.retry import GiveUp, Retrier
from aios.reliability.store import BreakerStore
from aios.reliability.wrappers import (
    ModelFallback,
    Wrapper,
    breaker,
    bulkhead,
    reliability_wrappers,
    retrying,
    timeouts,
)

__all__ = [
    "DEFAULT_MODEL_POLICY",
    "Alternative",
    "BreakerPolicy",
    "BreakerRegistry",
    "BreakerSnapshot",
    "BreakerState",
    "BreakerStore",
    "BreakerTransition",
    "Bulkhead",
    "CircuitBreaker",
    "Classifier",
    "Clock",
    "Fallback",
    "FallbackSkipped",
    "FallbackUsed",
    "GiveUp",
    "MeasuredReport",
    "ModelFallback",
    "NoSleepClock",
    "ReliabilityEvent",
    "ReliabilityLayer",
    "ReliabilityListener",
    "ReliabilityPolicy",
    "Retrier",
    "RetryGaveUp",
    "RetryPolicy",
    "RetryScheduled",
    "SequenceForecast",
    "StreamPolicy",
    "SystemClock",
    "Wrapper",
    "breaker",
    "bulkhead",
    "end_to_end",
    "measure",
    "policy_for",
    "reliability_wrappers",
    "required_per_step",
    "retrying",
    "timeouts",
]
