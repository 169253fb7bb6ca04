"""The trace hook: how other subsystems put their decisions on the current trace.

Retry attempts, circuit-breaker transitions, fallbacks, guardrail decisions and approval
waits are recorded by the subsystem that makes them, through this one small object, so none
of them imports OpenTelemetry or knows how traces are exported. A subsystem takes an
`EventHook` argument (default `NULL_HOOK`) and calls `event(...)` for a point in time or
`span(...)` around something that takes time::

    hook.event(events.RETRY, {"aios.retry.attempt": 2, "aios.retry.wait_s": 0.4})
    with hook.span(spans.APPROVAL_WAIT, kind="approval", attributes={"aios.action": name}):
        decision = await wait_for_decision()
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from types import SimpleNamespace
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode, Tracer

__all__ = ["EVENTS", "NULL_HOOK", "SPANS", "EventHook", "NullHook", "TraceHook",
           "record_error"]

#: Well-known span names: one child span each, on the span current when it starts.
SPANS = SimpleNamespace(
    APPROVAL_WAIT="approval.wait",
    GUARDRAIL_CHECK="guardrail.check",
    RETRY_ATTEMPT="retry.attempt",
)
#: Well-known event names, added to the current span.
EVENTS = SimpleNamespace(
    RETRY="retry",
    BREAKER_TRANSITION="breaker.transition",
    FALLBACK="fallback",
    GUARDRAIL_DECISION="guardrail.decision",
    APPROVAL_DECISION="approval.decision",
    CACHE="cache",
)

Attributes = Mapping[str, Any]


class EventHook(Protocol):
    """What a subsystem calls to record on the current trace."""

    def event(self, name: str, attributes: Attributes | None = None) -> None:
        """Add an event named `name` to the current span."""
        ...

    def span(self, name: str, *, kind: str = "other",
             attributes: Attributes | None = None) -> AbstractContextManager[Any]:
        """A child span of the current span around the `with` block."""
        ...


def record_error(span: trace.Span, exc: BaseException) -> None:
    """Mark `span` failed by `exc`: an exception event with the stack trace, `error.type`,
    and an ERROR status.

    A cancellation is not a failure of the call (its caller gave up: an optional step's
    deadline, Ctrl-C): the span says `aios.cancelled` and its status stays unset, so one slow
    optional model call does not mark its whole run's trace as an error.
    """
    if isinstance(exc, asyncio.CancelledError):
        span.set_attribute("aios.cancelled", True)
        return
    span.record_exception(exc, escaped=True)
    span.set_attribute("error.type", type(exc).__qualname__)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def _clean(attributes: Attributes | None) -> dict[str, Any]:
    # OpenTelemetry rejects None values; dropping them lets callers pass optional fields.
    return {k: v for k, v in (attributes or {}).items() if v is not None}


class TraceHook:
    """The `EventHook` that records on OpenTelemetry spans from `tracer`."""

    def __init__(self, tracer: Tracer):
        self._tracer = tracer

    def event(self, name: str, attributes: Attributes | None = None) -> None:
        """Add an event to the current span (nothing happens outside any span)."""
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(name, _clean(attributes))

    @contextmanager
    def span(self, name: str, *, kind: str = "other",
             attributes: Attributes | None = None) -> Iterator[trace.Span]:
        """A child span of the current span; an exception escaping the block marks it failed.

        Args:
            name: the span name (see `SPANS`).
            kind: what it stands for, stored in the `kind` column (`approval`, `guardrail`,
                `retry`, ...).
            attributes: attributes set when the span starts.
        """
        attrs = _clean(attributes)
        attrs["aios.kind"] = kind
        with self._tracer.start_as_current_span(name, attributes=attrs, record_exception=False,
                                                set_status_on_exception=False) as span:
            try:
                yield span
            except BaseException as exc:
                record_error(span, exc)
                raise


class NullHook:
    """An `EventHook` that records nothing (tracing not configured)."""

    def event(self, name: str, attributes: Attributes | None = None) -> None:
        """Record nothing."""

    @contextmanager
    def span(self, name: str, *, kind: str = "other",
             attributes: Attributes | None = None) -> Iterator[trace.Span]:
        """Run the block inside no span."""
        yield trace.INVALID_SPAN


NULL_HOOK = NullHook()
