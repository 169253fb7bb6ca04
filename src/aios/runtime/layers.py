"""The core pipeline layers: forensic mode, confirmation, idempotency, timeout."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from aios.errors import ActionSkipped, ActionTimeout, DuplicateExecution
from aios.manifest.schema import Criticality
from aios.runtime.pipeline import Next, StepCall
from aios.store.runs import RunStore

__all__ = ["ConfirmationLayer", "ForensicLayer", "IdempotencyLayer", "TimeoutLayer",
           "idempotency_key"]


def idempotency_key(run_id: str, step_id: str, args: dict[str, Any]) -> str:
    """A key stable across retries and resumes of the same step with the same arguments."""
    blob = json.dumps([run_id, step_id, args], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


class ForensicLayer:
    """In forensic (read-only) mode, a mutating action is reported and never executed."""

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        if call.ctx.forensic and call.spec.mutates:
            raise ActionSkipped(
                f"{call.action} mutates the host; skipped in forensic (read-only) mode",
                action=call.action, reason="forensic")
        return await call_next(call)


@dataclass
class ConfirmationLayer:
    """Mutating actions at or above `threshold` criticality run only when confirmed (--yes).

    This is the gate the approvals subsystem replaces with durable human approval.
    """

    assume_yes: bool = False
    threshold: Criticality = Criticality.high

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
        except BaseException as exc:
            await asyncio.shield(self.runs.settle(key, "failed", error=repr(exc)))
            raise
        await self.runs.settle(key, "succeeded", result=result)
        return result


class TimeoutLayer:
    """Cancels the handler after the action's `timeout` seconds.

    A sync handler runs in a worker thread that cannot be interrupted: the step fails at the
    deadline, and the thread finishes in the background.
    """

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        timeout = call.spec.timeout
        if timeout is None:
            return await call_next(call)
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                return await call_next(call)
        except TimeoutError as exc:
            if not deadline.expired():  # the handler's own TimeoutError, not our deadline
                raise
            raise ActionTimeout(f"{call.action} did not finish within {timeout:g} s "
                                "(raise `timeout:` in the manifest if it needs longer)",
                                action=call.action) from exc
