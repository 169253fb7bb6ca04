"""Reliability: retries (tenacity), circuit breakers, fallback chains, bulkheads, stream time
limits, the runtime's `ReliabilityLayer`, the gateway's provider wrappers, and the reliability
calculator.

The manifest imports `aios.reliability.policy`, so this package imports the modules that
depend on the manifest, the runtime or the model gateway (the layer, the wrappers, streams,
the calculator) only when one of their names is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from aios.reliability.bulkheads import Bulkhead, Bulkheads
from aios.reliability.circuit import BreakerRegistry, BreakerSnapshot, BreakerState, CircuitBreaker
from aios.reliability.classify import Classifier, resolve_error_names
from aios.reliability.clock import Clock, NoSleepClock, SystemClock
from aios.reliability.events import (
    BreakerTransition,
    Emitter,
    FallbackSkipped,
    FallbackUsed,
    ReliabilityEvent,
    ReliabilityListener,
    RetryGaveUp,
    RetryScheduled,
)
from aios.reliability.fallback import Alternative, Fallback
from aios.reliability.policy import (
    DEFAULT_MODEL_POLICY,
    BreakerPolicy,
    ReliabilityPolicy,
    RetryPolicy,
    StreamPolicy,
    policy_for,
)
from aios.reliability.retry import GiveUp, Retrier
from aios.reliability.store import BreakerRow, BreakerStore

if TYPE_CHECKING:
    from aios.reliability.calculator import (
        ActionRate,
        MeasuredReport,
        SequenceForecast,
        end_to_end,
        measure,
        required_per_step,
        success_interval,
    )
    from aios.reliability.layer import ReliabilityLayer, action_target
    from aios.reliability.streams import guard_stream, prime, relay
    from aios.reliability.wrappers import (
        ModelFallback,
        Wrapper,
        breaker,
        bulkhead,
        call_timeout,
        model_target,
        reliability_wrappers,
        retrying,
        stream_timeouts,
        timeouts,
    )

_LAZY = {
    "ActionRate": "calculator", "MeasuredReport": "calculator", "SequenceForecast": "calculator",
    "end_to_end": "calculator", "measure": "calculator", "required_per_step": "calculator",
    "success_interval": "calculator",
    "ReliabilityLayer": "layer", "action_target": "layer",
    "guard_stream": "streams", "prime": "streams", "relay": "streams",
    "ModelFallback": "wrappers", "Wrapper": "wrappers", "breaker": "wrappers",
    "bulkhead": "wrappers", "call_timeout": "wrappers", "model_target": "wrappers",
    "reliability_wrappers": "wrappers", "retrying": "wrappers",
    "stream_timeouts": "wrappers", "timeouts": "wrappers",
}

__all__ = [
    "DEFAULT_MODEL_POLICY",
    "ActionRate",
    "Alternative",
    "BreakerPolicy",
    "BreakerRegistry",
    "BreakerRow",
    "BreakerSnapshot",
    "BreakerState",
    "BreakerStore",
    "BreakerTransition",
    "Bulkhead",
    "Bulkheads",
    "CircuitBreaker",
    "Classifier",
    "Clock",
    "Emitter",
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
    "action_target",
    "breaker",
    "bulkhead",
    "call_timeout",
    "end_to_end",
    "guard_stream",
    "measure",
    "model_target",
    "policy_for",
    "prime",
    "relay",
    "reliability_wrappers",
    "required_per_step",
    "resolve_error_names",
    "retrying",
    "stream_timeouts",
    "success_interval",
    "timeouts",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aios.reliability' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"aios.reliability.{module}"), name)
    globals()[name] = value
    return value
