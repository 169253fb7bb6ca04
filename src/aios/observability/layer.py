"""Spans for runs and actions: a run listener and the outermost pipeline layer.

`RunSpans` is a run listener: on `RunStarted` it opens the run's span and makes it the
current span of the task executing the run, before the engine creates the step tasks, so
every step span (each in a task of its own, `asyncio.create_task` copies the context) is a
child of the run span. `TracingLayer` is a pipeline layer: it opens the step's span around
everything inside the pipeline, so approval waits, guardrail checks, retries, LLM calls and
anything the handler traces nest below it (sync handlers run in `asyncio.to_thread`, which
copies the context into the worker thread).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from contextvars import Token
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode, Tracer

from aios.errors import ActionSkipped, ActionSuspended
from aios.observability.hooks import record_error
from aios.runtime.events import Event, RunFinished, RunStarted, StepFinished
from aios.runtime.pipeline import Next, StepCall

__all__ = ["RunSpans", "TracingLayer"]


@dataclass
class _OpenRun:
    span: trace.Span
    token: Token[otel_context.Context]
    task: asyncio.Task[Any] | None
    statuses: Counter[str] = field(default_factory=Counter)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        return None


class RunSpans:
    """Run listener opening one span per run, current for the whole run.

    Pass it in `Runtime(listeners=[...])`. It relies on the engine emitting `RunStarted` and
    `RunFinished` synchronously from the task that executes the run (it does).

    Args:
        tracer: where spans come from.
    """

    def __init__(self, tracer: Tracer):
        self._tracer = tracer
        self._open: dict[str, _OpenRun] = {}

    def __call__(self, event: Event) -> None:
        """Handle one run event."""
        if isinstance(event, RunStarted):
            self._start(event)
        elif isinstance(event, StepFinished):
            run = self._open.get(event.run_id)
            if run is not None:
                run.statuses[event.status] += 1
        elif isinstance(event, RunFinished):
            self._finish(event)

    def _start(self, event: RunStarted) -> None:
        # A single-action run has one step named after its target.
        kind = event.kind or ("action" if event.steps == (event.target,) else "sequence")
        attributes: dict[str, Any] = {
            "aios.kind": "run", "aios.run_id": event.run_id, "aios.run.target": event.target,
            "aios.run.kind": kind, "aios.run.steps": len(event.steps),
            "aios.run.resumed": event.resumed}
        name = f"run {event.target}"
        if kind == "agent":  # the OpenTelemetry GenAI agent conventions
            name = f"invoke_agent {event.target}"
            attributes.update({"gen_ai.operation.name": "invoke_agent",
                               "gen_ai.agent.name": event.target})
        span = self._tracer.start_span(name, attributes=attributes)
        token = otel_context.attach(trace.set_span_in_context(span))
        self._open[event.run_id] = _OpenRun(span, token, _current_task())

    def _finish(self, event: RunFinished) -> None:
        run = self._open.pop(event.run_id, None)
        if run is None:
            return
        span = run.span
        span.set_attribute("aios.status", event.status)
        for status, count in run.statuses.items():
            span.set_attribute(f"aios.run.steps_{status}", count)
        if event.status == "failed":
            span.set_status(Status(StatusCode.ERROR, event.error or "run failed"))
        elif event.error:
            span.set_attribute("aios.run.error", event.error)
        # On cancellation the engine finishes the run from a shielded task, whose context is
        # a copy: detaching there would fail, and the copy is discarded anyway.
        if run.task is _current_task():
            otel_context.detach(run.token)
        span.end()


class TracingLayer:
    """The outermost pipeline layer: one span per action execution.

    Args:
        tracer: where spans come from.
        check: called before each action; raises when traces can no longer be recorded
            (`StoreSpanProcessor.check`), which fails the step and stops the run cleanly.
    """

    def __init__(self, tracer: Tracer, *, check: Callable[[], None] | None = None):
        self._tracer = tracer
        self._check = check

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        """Run `call` inside its action span."""
        if self._check is not None:
            self._check()
        ctx = call.ctx
        spec = call.spec
        attributes: dict[str, Any] = {
            "aios.kind": "action", "aios.run_id": ctx.run_id, "aios.action": ctx.action,
            "aios.agent": ctx.agent, "aios.step_id": ctx.step_id,
            "aios.criticality": str(spec.criticality), "aios.mutates": spec.mutates,
            "aios.forensic": ctx.forensic, "aios.attempt": ctx.attempt,
            "aios.critical_step": call.critical,
        }
        name = f"action {ctx.action}"
        if ctx.autonomy is not None:  # a model chose this call: a GenAI `execute_tool` span
            name = f"execute_tool {ctx.action}"
            attributes.update({"gen_ai.operation.name": "execute_tool",
                               "gen_ai.tool.name": ctx.action.replace(".", "__"),
                               "gen_ai.tool.type": "function"})
        # `start_span` + attach rather than `start_as_current_span`: the same span, made
        # current the same way, without two generator context managers per step.
        span = self._tracer.start_span(name, attributes=attributes, record_exception=False,
                                       set_status_on_exception=False)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            try:
                result = await call_next(call)
            except ActionSkipped as exc:
                span.set_attributes({"aios.status": "skipped", "aios.skip_reason": exc.reason})
                raise
            except ActionSuspended as exc:
                span.set_attribute("aios.status", "waiting")
                if exc.reference:
                    span.set_attribute("aios.suspended.reference", exc.reference)
                raise
            except asyncio.CancelledError:
                span.set_attribute("aios.status", "cancelled")
                raise
            except Exception as exc:
                span.set_attribute("aios.status", "failed")
                record_error(span, exc)
                raise
            span.set_attribute("aios.status", "succeeded")
            return result
        finally:
            otel_context.detach(token)
            span.end()
