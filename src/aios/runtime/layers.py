"""The core pipeline layers: forensic mode, confirmation, idempotency, timeout."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aios.errors import (
    ActionError,
    ActionOutcomeUnknown,
    ActionSkipped,
    ActionTimeout,
    DuplicateExecution,
)
from aios.runtime.pipeline import HandlerAbandoned, Next, StepCall, on_handler_start
from aios.store.runs import RunStore

if TYPE_CHECKING:  # the manifest schema imports policy models whose layers import this module
    from aios.manifest.schema import Criticality

__all__ = ["ConfirmationLayer", "ForensicLayer", "IdempotencyLayer", "TimeoutLayer",
           "deadline_error", "idempotency_key", "late_summary", "when_finished"]

log = logging.getLogger("aios.runtime")


def idempotency_key(run_id: str, step_id: str, args: dict[str, Any]) -> str:
    """A key stable across retries and resumes of the same step with the same arguments."""
    blob = json.dumps([run_id, step_id, args], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


def deadline_error(action: str, message: str, exc: BaseException) -> ActionError:
    """The error for a deadline that passed while `exc` unwound the handler.

    `ActionTimeout` when the handler was stopped (an async one cancelled, a worker process
    killed); `ActionOutcomeUnknown` when it could not be (a sync handler in a thread).
    """
    abandoned = exc if isinstance(exc, HandlerAbandoned) else exc.__cause__
    if isinstance(abandoned, HandlerAbandoned):
        return ActionOutcomeUnknown(
            f"{message}; it could not be stopped (a sync handler in a thread) and may still "
            "finish, so its outcome is unknown: check the host's state before running it "
            "again", action=action, late=abandoned.late)
    return ActionTimeout(f"{message}; it was stopped", action=action)


def late_summary(late: concurrent.futures.Future[Any]) -> tuple[Any, str]:
    """`(result, text)` describing how an abandoned handler finally ended."""
    if late.cancelled():
        return None, "the abandoned handler never started"
    error = late.exception()
    if error is not None:
        return None, (f"the handler finished late, after its deadline: raised "
                      f"{type(error).__name__}: {error}")
    return late.result(), "the handler finished late, after its deadline, and returned"


def when_finished(late: Any, callback: Callable[[Any, str], Any]) -> None:
    """Call `callback(result, text)` on this event loop when the abandoned handler ends.

    Nothing happens when the loop is gone by then (the process is exiting: it never waits
    for an abandoned handler).
    """
    if not isinstance(late, concurrent.futures.Future):
        return
    loop = asyncio.get_running_loop()

    def done(fut: concurrent.futures.Future[Any]) -> None:
        result, text = late_summary(fut)
        try:
            loop.call_soon_threadsafe(callback, result, text)
        except RuntimeError:  # the loop is closed
            log.warning("%s (not recorded: the run's process was exiting)", text)

    late.add_done_callback(done)


class ForensicLayer:
    """In forensic (read-only) mode, a mutating action is reported and never executed."""

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        if call.ctx.forensic and call.spec.mutates:
            raise ActionSkipped(
                f"{call.action} mutates the host; skipped in forensic (read-only) mode",
                action=call.action, reason="forensic")
        return await call_next(call)


def _criticality(name: str) -> Criticality:
    from aios.manifest.schema import Criticality  # on use: see the TYPE_CHECKING import above

    return Criticality(name)


@dataclass
class ConfirmationLayer:
    """Mutating actions at or above `threshold` criticality run only when confirmed (--yes).

    This is the gate the approvals subsystem replaces with durable human approval.
    """

    assume_yes: bool = False
    threshold: Criticality = field(default_factory=lambda: _criticality("high"))

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        spec = call.spec
        if spec.mutates and spec.criticality.rank >= self.threshold.rank and not self.assume_yes:
            raise ActionSkipped(
                f"{call.action} is a {spec.criticality.value}-criticality mutating action and "
                "needs confirmation; rerun with --yes to allow it",
                action=call.action, reason="needs confirmation")
        return await call_next(call)


@dataclass
class IdempotencyLayer:
    """Claims a durable idempotency key before a mutating action executes.

    The key is derived from run, step and arguments, so a retry, a fallback or a resume of the
    same step finds the claim: a finished execution's result is returned without running
    again, and an execution whose outcome is unknown (the process died while it ran) is
    refused rather than risked twice.
    """

    runs: RunStore
    _late_tasks: set[asyncio.Future[Any]] = field(default_factory=set, repr=False)

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        if not call.spec.mutates:
            return await call_next(call)
        ctx = call.ctx
        key = ctx.idempotency_key or idempotency_key(ctx.run_id, ctx.step_id, ctx.args)
        ctx.idempotency_key = key
        existing = await self.runs.claim(key, run_id=ctx.run_id, step_id=ctx.step_id,
                                         action=call.action)
        if existing is not None:
            if existing.status == "succeeded":
                return existing.result
            raise DuplicateExecution(
                f"{call.action} already started under idempotency key {key} "
                f"(status {existing.status!r}); it is not run again. Check the host's state, "
                "then start a new run if it should run once more", action=call.action)
        try:
            result = await call_next(call)
        except (ActionOutcomeUnknown, HandlerAbandoned) as exc:
            # It may still change the host: the claim stays unknown, so nothing runs it
            # twice; when it does finish, the claim records how (still `unknown`).
            await asyncio.shield(self.runs.settle(key, "unknown", error=repr(exc)))
            when_finished(exc.late, lambda result, text: self._late(key, result, text))
            raise
        except BaseException as exc:
            await asyncio.shield(self.runs.settle(key, "failed", error=repr(exc)))
            raise
        await self.runs.settle(key, "succeeded", result=result)
        return result

    def _late(self, key: str, result: Any, text: str) -> None:
        task = asyncio.ensure_future(self.runs.settle(key, "unknown", result=result, error=text))
        self._late_tasks.add(task)
        task.add_done_callback(self._late_tasks.discard)


class TimeoutLayer:
    """Stops the handler after the action's `timeout` seconds.

    An async handler is cancelled; a sync mutating one runs in a worker process that the
    local executor kills. A sync handler that runs in a thread cannot be stopped: its step
    ends at the deadline with an unknown outcome (`ActionOutcomeUnknown`), and the thread is
    abandoned (it never holds up the process's exit).
    """

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        timeout = call.spec.timeout
        if timeout is None:
            return await call_next(call)
        deadline = asyncio.timeout(timeout)
        loop = asyncio.get_running_loop()

        def count_from_start(phase: str) -> None:  # a worker process comes up first
            if not deadline.expired():
                deadline.reschedule(None if phase == "starting" else loop.time() + timeout)

        try:
            with on_handler_start(count_from_start):
                async with deadline:
                    return await call_next(call)
        except (TimeoutError, HandlerAbandoned) as exc:
            if not deadline.expired():  # the handler's own TimeoutError, or a user's cancel
                raise
            raise deadline_error(call.action,
                                 f"{call.action} did not finish within {timeout:g} s (raise "
                                 "`timeout:` in the manifest if it needs longer)", exc) from exc
