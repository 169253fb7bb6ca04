"""`RunWorker`: runs started through the server execute in the server's runtime, and runs
whose approvals arrive are resumed while the server runs.

One runtime (built by `open_runtime` in the app's lifespan) holds the store, the gateway, the
tracing and the pipeline. Approval requests must name who caused them (the requester may not
approve their own request), so each user who starts runs gets a view of that runtime whose
approval gate records them as the requester; everything else is shared.

A background loop asks the store every `poll_interval` seconds for waiting runs whose requests
have been decided (`ApprovalService.resumable_runs`), and at once when a decision is made
through this server, and resumes each with `Runtime.resume`.

A run the worker cancels (on request, or executing when the server stops) has its open approval
requests withdrawn by the worker itself, in the name of who cancelled it, after the
cancellation is recorded; the runtime's own withdraw-on-cancel listener (`open_runtime`) is
left out of the views so the audit trail names that person, not the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Coroutine, Mapping
from typing import Any

from aios.approvals.layer import ApprovalLayer
from aios.approvals.withdrawal import WithdrawOnCancel, withdraw_quietly
from aios.approvals.workflow import ApprovalEvent, ApprovalService
from aios.errors import AiosError, ConflictError, NotFoundError
from aios.manifest.loader import manifest_digest
from aios.runtime.engine import RunResult, Runtime
from aios.runtime.events import RunFinished, RunStarted
from aios.runtime.pipeline import Next
from aios.store.runs import TERMINAL, RunRecord

__all__ = ["SERVER_REQUESTER", "RunWorker"]

log = logging.getLogger("aios.server.worker")

#: The requester recorded for runs whose starter is unknown (resumed runs of other processes).
SERVER_REQUESTER = "aios-server"

#: Approval decisions after which a waiting run can go on.
_DECIDED = frozenset({"approved", "rejected", "expired"})


class RunWorker:
    """Starts, resumes and cancels runs in the server's runtime.

    Args:
        runtime: the server's runtime (from `open_runtime`); its pipeline is shared.
        approvals: the service whose `resumable_runs` says which waiting runs can go on.
        executor: the innermost pipeline stage for the per-requester views of `runtime`.
        poll_interval: seconds between looks for resumable runs.
        drain_seconds: on shutdown, how long executing runs may take to finish before they
            are cancelled (recorded as cancelled; `aios runs resume ID` continues them).
    """

    def __init__(self, runtime: Runtime, approvals: ApprovalService, *, executor: Next,
                 poll_interval: float = 1.0, drain_seconds: float = 5.0):
        self.runtime = runtime
        self.approvals = approvals
        self.executor = executor
        self.poll_interval = poll_interval
        self.drain_seconds = drain_seconds
        self.digest = manifest_digest(runtime.manifest)
        # Cancellations here withdraw approval requests in `cancel` / `stop`, naming who, so
        # the runtime's own withdraw-on-cancel listener is left out.
        self._listeners = [listener for listener in runtime.listeners
                           if not isinstance(listener, WithdrawOnCancel)]
        self._views: dict[str, Runtime] = {}
        self._tasks: dict[str, asyncio.Task[RunResult | None]] = {}
        self._started: dict[str, asyncio.Event] = {}
        self._skipped: set[str] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    # -- views of the runtime ---------------------------------------------------------------

    def runtime_for(self, requester: str) -> Runtime:
        """The server's runtime with its approval gate recording `requester`."""
        view = self._views.get(requester)
        if view is None:
            base = self.runtime
            layers = [dataclasses.replace(layer, requester=requester)
                      if isinstance(layer, ApprovalLayer) else layer for layer in base.layers]
            view = Runtime(base.manifest, base.runs, registry=base.registry, layers=layers,
                           forensic=base.forensic, env=base.env, llm=base.llm,
                           listeners=[*self._listeners, self._on_event],
                           max_concurrency=base.max_concurrency,
                           manifest_path=base.manifest_path, executor=self.executor,
                           actor=requester, durable_step_ends=base.durable_step_ends,
                           keeper=base.keeper)
            self._views[requester] = view
        return view

    def _on_event(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            started = self._started.get(event.run_id)
            if started is not None:
                started.set()

    # -- starting, resuming, cancelling -----------------------------------------------------

    def active(self) -> list[str]:
        """Ids of runs executing in this server now."""
        return list(self._tasks)

    def is_active(self, run_id: str) -> bool:
        """True while `run_id` executes in this server."""
        return run_id in self._tasks

    def check_target(self, *, sequence: str | None, action: str | None) -> None:
        """Raise NotFoundError unless the manifest declares the sequence or action."""
        manifest = self.runtime.manifest
        if sequence is not None and sequence not in manifest.sequences:
            known = ", ".join(sorted(manifest.sequences)) or "(none)"
            raise NotFoundError(f"no sequence {sequence!r} in manifest {manifest.name!r}; "
                                f"known: {known}")
        if action is not None:
            try:
                manifest.action(action)
            except KeyError:
                raise NotFoundError(
                    f"no action {action!r} in manifest {manifest.name!r}; GET /api/manifest "
                    "lists the declared actions") from None

    async def start(self, *, requester: str, sequence: str | None = None,
                    action: str | None = None, args: Mapping[str, Any] | None = None) -> str:
        """Start a run of `sequence` (or of `action` with `args`) as `requester`.

        Returns once the run is recorded, so its id can be read at once; it goes on in the
        background.

        Raises:
            NotFoundError: the manifest declares no such sequence or action.
        """
        self.check_target(sequence=sequence, action=action)
        runtime = self.runtime_for(requester)
        run_id = uuid.uuid4().hex
        if sequence is not None:
            work = runtime.run(sequence, run_id=run_id)
        else:
            assert action is not None
            work = runtime.execute(action, dict(args or {}), run_id=run_id)
        await self._spawn(run_id, work)
        return run_id

    async def start_agent(self, *, requester: str, agent: str, goal: str) -> str:
        """Start a run of `agent`'s model toward `goal` as `requester` (in the background).

        Raises:
            NotFoundError: no such agent. ConfigError: an empty goal, or its model cannot
                call tools (both before anything is recorded).
        """
        run_id = uuid.uuid4().hex
        await self._spawn(run_id, self.runtime_for(requester).run_agent(agent, goal,
                                                                        run_id=run_id))
        return run_id

    async def resume(self, run_id: str, *, requester: str | None = None) -> str:
        """Resume a run that stopped part-way (waiting, failed, cancelled, interrupted).

        Raises:
            NotFoundError: no such run. ConflictError: it runs (here or elsewhere), it
                succeeded, or it was recorded with another manifest.
        """
        record = await self.runtime.runs.get_run(run_id)
        if self.is_active(record.id):
            raise ConflictError(f"run {record.id[:12]} is executing in this server already")
        if record.status == "running":
            raise ConflictError(f"run {record.id[:12]} is executing in process {record.pid} on "
                                f"{record.host}; wait for it, or stop it there")
        if record.status == "succeeded":
            raise ConflictError(f"run {record.id[:12]} succeeded; nothing to resume")
        self._check_manifest(record)
        # The run's requests name its initiator (stored with the run); the resumer is
        # recorded too, and neither may approve them.
        who = requester or await self._requester_of(record.id) or SERVER_REQUESTER
        await self._spawn(record.id, self.runtime_for(who).resume(record.id))
        return record.id

    async def cancel(self, run_id: str, *, actor: str) -> str:
        """Cancel a run: stop it if it executes here, else record it cancelled.

        Either way its open approval requests are then withdrawn in `actor`'s name; if that
        fails, the run stays cancelled and the failure is logged.

        Raises:
            NotFoundError: no such run. ConflictError: it already ended, or it executes in
                another process.
        """
        record = await self.runtime.runs.get_run(run_id)
        task = self._tasks.get(record.id)
        reason = f"cancelled by {actor}"
        if task is not None:
            task.cancel()
            await asyncio.wait({task})  # the runtime records the run cancelled
            await self._withdraw_if_cancelled(record.id, actor=actor, reason=reason)
            return record.id
        if record.status in TERMINAL:
            raise ConflictError(f"run {record.id[:12]} already {record.status}; nothing to "
                                "cancel")
        if record.status == "running":
            raise ConflictError(f"run {record.id[:12]} is executing in process {record.pid} on "
                                f"{record.host}; stop it there (Ctrl-C cancels it)")
        for step in record.steps:
            if step.status not in TERMINAL:
                self.runtime.runs.step_event(record.id, step.step_id, step.action, "cancelled",
                                             error=reason)
        await self.runtime.runs.finish_run(record.id, "cancelled", reason)
        await withdraw_quietly(self.approvals, record.id, actor=actor, reason=reason)
        for listener in self._listeners:
            with contextlib.suppress(Exception):  # a broken listener must not undo it
                listener(RunFinished(record.id, "cancelled", reason))
        return record.id

    async def _withdraw_if_cancelled(self, run_id: str, *, actor: str, reason: str) -> None:
        """Withdraw the open requests of a run stopped here, if it was recorded cancelled.

        A run can end otherwise at the moment it is stopped (it had just suspended); its
        requests then stay. Failures are logged: the cancellation stands regardless.
        """
        try:
            status = (await self.runtime.runs.get_run(run_id)).status
        except Exception:  # logged; the cancellation is recorded already
            log.exception("run %s was stopped, but reading its state failed; its approval "
                          "requests were not withdrawn", run_id)
            return
        if status == "cancelled":
            await withdraw_quietly(self.approvals, run_id, actor=actor, reason=reason)

    async def _spawn(self, run_id: str, work: Awaitable[RunResult]) -> None:
        """Run `work` in the background; return once its run is recorded (or it failed)."""
        started = asyncio.Event()
        self._started[run_id] = started
        task = asyncio.create_task(self._drive(run_id, work, started),
                                   name=f"aios run {run_id}")
        self._tasks[run_id] = task
        waiter = asyncio.create_task(started.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if task.done() and not started.is_set():
            task.result()  # raises what stopped the run before it was recorded

    async def _drive(self, run_id: str, work: Awaitable[RunResult],
                     started: asyncio.Event) -> RunResult | None:
        try:
            return await work
        except Exception:
            if started.is_set():  # the run is recorded; nobody waits for this task's result
                log.exception("run %s stopped with an error", run_id)
                return None
            raise  # `_spawn` hands it to the caller
        finally:
            self._tasks.pop(run_id, None)
            self._started.pop(run_id, None)

    def background(self, work: Coroutine[Any, Any, Any], *, name: str) -> None:
        """Run other server work (a red-team run) in the background; cancelled on stop."""
        task = asyncio.create_task(work, name=name)
        self._background.add(task)  # asyncio keeps only a weak reference to tasks
        task.add_done_callback(self._background.discard)

    # -- resuming runs whose approvals arrived ----------------------------------------------

    def _check_manifest(self, record: RunRecord) -> None:
        if record.manifest_digest != self.digest:
            raise ConflictError(
                f"run {record.id[:12]} was recorded with another manifest "
                f"({record.manifest_name}, digest {record.manifest_digest}); resume it with "
                f"`aios runs resume {record.id[:12]} --manifest {record.manifest_path or 'FILE'}`")

    async def _requester_of(self, run_id: str) -> str | None:
        """Who caused the run's approval requests (the user who started it through here)."""
        found = await self.approvals.queue(statuses=None, run_id=run_id, limit=1)
        return found[0].requester if found else None

    async def resume_ready(self) -> list[str]:
        """Resume every waiting run whose approval requests have been decided; their ids."""
        resumed: list[str] = []
        for run_id in await self.approvals.resumable_runs():
            if self.is_active(run_id) or run_id in self._skipped:
                continue
            record = await self.runtime.runs.get_run(run_id)
            try:
                self._check_manifest(record)
            except ConflictError as exc:
                self._skipped.add(run_id)  # say it once, not every poll
                log.warning("not resuming run %s: %s", run_id, exc)
                continue
            try:
                await self.resume(run_id)
            except ConflictError as exc:  # another process resumed it meanwhile
                log.info("not resuming run %s: %s", run_id, exc)
                continue
            resumed.append(run_id)
        return resumed

    def on_approval(self, event: ApprovalEvent) -> None:
        """An `ApprovalService` listener: a decision wakes the resume loop at once."""
        if event.kind in _DECIDED:
            self._wake.set()

    async def _resume_loop(self) -> None:
        while True:
            try:
                await self.resume_ready()
            except AiosError:
                log.exception("looking for runs to resume failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()

    def start_loop(self) -> None:
        """Start the resume loop (no-op when `poll_interval` is 0)."""
        if self.poll_interval > 0 and self._loop is None:
            self._loop = asyncio.create_task(self._resume_loop(), name="aios resume loop")

    async def stop(self) -> None:
        """Stop the loop, let executing runs finish for `drain_seconds`, cancel the rest."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        for task in list(self._background):
            task.cancel()
        running = dict(self._tasks)
        if running:
            _, pending = await asyncio.wait(running.values(), timeout=self.drain_seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
            for run_id, task in running.items():
                if task in pending:
                    await self._withdraw_if_cancelled(run_id, actor=SERVER_REQUESTER,
                                                      reason="cancelled: the server shut down")
