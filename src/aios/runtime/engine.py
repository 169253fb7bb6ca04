"""The runtime: runs a sequence as a DAG with bounded concurrency, durably."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import jsonschema

from aios.errors import (
    ActionOutcomeUnknown,
    ActionSkipped,
    ActionSuspended,
    ConfigError,
    NotFoundError,
    StoreError,
)
from aios.manifest.loader import manifest_digest
from aios.manifest.schema import Manifest, Step
from aios.manifest.schema import Sequence as SequenceSpec
from aios.registry import Registry
from aios.runtime.context import ActionContext
from aios.runtime.events import (
    Listener,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
)
from aios.runtime.handlers import HandlerRegistry
from aios.runtime.kept_args import ArgumentKeeper
from aios.runtime.layers import (
    ConfirmationLayer,
    ForensicLayer,
    IdempotencyLayer,
    TimeoutLayer,
    when_finished,
)
from aios.runtime.pipeline import Layer, Next, StepCall, compose, invoke_handler
from aios.runtime.results import RunResult, StepOutcome
from aios.store.runs import RunRecord, RunStore

__all__ = ["Resumer", "RunResult", "Runtime", "StepOutcome", "register_run_kind"]

log = logging.getLogger("aios.runtime")

#: A step in one of these states needs no execution when a run resumes.
_DONE = frozenset({"succeeded", "skipped"})
#: A critical step ending in one of these states stops its run. `unknown`: it ran past its
#: deadline and could not be stopped (it may still finish; see `ActionOutcomeUnknown`).
_STOPS = frozenset({"failed", "unknown"})


#: Continues a stopped run of one kind: `(runtime, record) -> how it ended`.
Resumer = Callable[["Runtime", RunRecord], Awaitable["RunResult"]]

#: Resumers by run kind (`runs.kind`); filled by `register_run_kind`.
_RESUMERS: Registry[Resumer] = Registry("run kind")
#: Modules that register the resumer of a kind, imported the first time such a run resumes.
_KIND_MODULES = {"agent": "aios.runtime.agent_loop"}


def register_run_kind(kind: str) -> Callable[[Resumer], Resumer]:
    """Register the function that resumes runs of `kind` (a decorator)."""
    return _RESUMERS.register(kind)


def _single_step(action: str, args: dict[str, Any]) -> SequenceSpec:
    """The one-step sequence that `execute` runs."""
    return SequenceSpec.model_validate({"steps": [{"action": action, "with": args}]})


def default_layers(runs: RunStore, *, assume_yes: bool) -> list[Layer]:
    """The core pipeline, outermost first."""
    return [ForensicLayer(), ConfirmationLayer(assume_yes=assume_yes), IdempotencyLayer(runs),
            TimeoutLayer()]


class Runtime:
    """Executes a manifest's sequences and actions through the pipeline, recording everything.

    Args:
        manifest: the validated manifest.
        runs: where runs are recorded.
        registry: resolves `handler:` references (default: the built-in handlers).
        layers: the pipeline, outermost first (default: `default_layers`).
        forensic: read-only mode; mutating actions are skipped.
        assume_yes: confirm mutating high/critical actions (the CLI's --yes).
        env: overrides on top of the manifest's `env`.
        llm: the model gateway handed to handlers as `ctx.llm`.
        listeners: callables receiving run and step events (live progress).
        max_concurrency: steps of one run executing at the same time.
        manifest_path: recorded with each run so `resume` can reload it.
        executor: the innermost stage that runs a handler (default: in this process,
            `invoke_handler`); a distributed executor runs it elsewhere (Ray).
        actor: who starts and resumes runs through this runtime: recorded as a run's
            initiator (the requester of its approval requests) or among its resumers.
        durable_step_ends: commit each step's end before it counts as finished (progress,
            dependents). Off by default: a chain of no-op steps then costs about ten times
            more per step (one commit each); off, a kill can lose the ends of read-only steps
            that finished within the writer's last flush cycle (mutating steps never: their
            claim and outcome are committed at once).
        keeper: what a run record keeps of arguments and environment: masked, the real
            values sealed with `AIOS_ARGS_KEY` (default: masked with `runs.masker`, no key:
            a run whose values needed masking is refused).
    """

    def __init__(self, manifest: Manifest, runs: RunStore, *,
                 registry: HandlerRegistry | None = None, layers: Sequence[Layer] | None = None,
                 forensic: bool = False, assume_yes: bool = False,
                 env: Mapping[str, str] | None = None, llm: Any = None,
                 listeners: Iterable[Listener] = (), max_concurrency: int = 16,
                 manifest_path: str | None = None, executor: Next | None = None,
                 actor: str | None = None, durable_step_ends: bool = False,
                 keeper: ArgumentKeeper | None = None):
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.manifest = manifest
        self.runs = runs
        self.registry = registry or HandlerRegistry.builtin()
        self.layers = list(layers) if layers is not None else default_layers(
            runs, assume_yes=assume_yes)
        self.forensic = forensic
        self.env = {**manifest.env, **(env or {})}
        self.llm = llm
        self.listeners = list(listeners)
        self.max_concurrency = max_concurrency
        self.manifest_path = manifest_path
        self.actor = actor
        self.durable_step_ends = durable_step_ends
        self.keeper = keeper or ArgumentKeeper(masker=runs.masker)
        self._chain: Next = compose(self.layers, executor or invoke_handler)
        self._validators: dict[str, jsonschema.protocols.Validator | None] = {}
        # The manifest is frozen: hash it once, not on every run (2,000 steps take 50 ms).
        self._digest = manifest_digest(manifest)

    # -- public API -----------------------------------------------------------------------

    async def run(self, sequence: str, *, run_id: str | None = None) -> RunResult:
        """Run the sequence called `sequence` and return how it ended.

        Raises:
            NotFoundError: the manifest has no such sequence.
        """
        spec = self.manifest.sequences.get(sequence)
        if spec is None:
            known = ", ".join(sorted(self.manifest.sequences)) or "(none)"
            raise NotFoundError(f"no sequence {sequence!r} in the manifest; known: {known}")
        return await self._start("sequence", sequence, spec, run_id)

    async def execute(self, action: str, args: Mapping[str, Any] | None = None, *,
                      run_id: str | None = None) -> RunResult:
        """Run one action as a run of its own.

        Raises:
            NotFoundError: the manifest declares no such action.
        """
        try:
            self.manifest.action(action)
        except KeyError:
            raise NotFoundError(
                f"no action {action!r}; `aios manifest validate` lists the declared actions "
                f"({', '.join(self.manifest.action_names()[:8])}, ...)") from None
        spec = _single_step(action, dict(args or {}))
        return await self._start("action", action, spec, run_id)

    async def resume(self, run_id: str) -> RunResult:
        """Continue a run that stopped part-way: finished steps keep their results.

        A mutating step whose execution may have begun is never re-executed: its idempotency
        claim replays a recorded result or refuses. How a run continues depends on its kind
        (`sequence`, `action`, `agent`, ...): each kind registers its resumer
        (`register_run_kind`).

        Raises:
            ConfigError: the run is of a kind nothing registered.
        """
        record = await self.runs.get_run(run_id)
        if record.kind not in _RESUMERS and record.kind in _KIND_MODULES:
            importlib.import_module(_KIND_MODULES[record.kind])  # registers its resumer
        if record.kind not in _RESUMERS:
            raise ConfigError(f"run {record.id} is of kind {record.kind!r}, which this version "
                              f"cannot resume (known kinds: {', '.join(_RESUMERS.names())})")
        return await _RESUMERS[record.kind](self, record)

    async def run_agent(self, agent: str, goal: str, *, run_id: str | None = None,
                        on_text: Callable[[str], None] | None = None,
                        grounded: bool = False) -> RunResult:
        """Let agent `agent`'s model pursue `goal` with its tools, as one durable run.

        Every tool call is a step of the run through the whole pipeline; `result.agent`
        holds the answer and why the run ended (see `aios.runtime.agent_loop`).

        Args:
            agent: a manifest agent.
            goal: what the user asks for.
            run_id: the run's id (default: a new one).
            on_text: receives the model's text as it streams.
            grounded: run a mutating call only when its required arguments are in `goal`
                (as `aios prompt` does; see `aios.runtime.grounded_tools`).
        """
        from aios.runtime.agent_loop import AgentLoop

        return await AgentLoop.start(self, agent, goal, run_id=run_id, on_text=on_text,
                                     grounded=grounded)

    async def _resume_steps(self, record: RunRecord) -> RunResult:
        """The resumer of `sequence` and `action` runs."""
        if record.status == "succeeded":
            return self._result_from_record(record)
        if record.kind == "sequence":
            spec = self.manifest.sequences.get(record.target)
            if spec is None:
                raise NotFoundError(f"run {record.id} ran sequence {record.target!r}, which "
                                    "this manifest does not declare; pass the same --manifest")
        else:
            # Stored masked: the real values come from their seal (AIOS_ARGS_KEY).
            args = self.keeper.restore(record.options, run_id=record.id).get("args", {})
            spec = _single_step(record.target, args)
        critical = {step.step_id: step.critical for step in spec.steps}
        # Finished steps keep their outcome; a critical failure is retried (its cause may be
        # fixed now), a non-critical one was already accepted by the run.
        done = {s.step_id: StepOutcome(s.step_id, s.action, s.status, s.duration_ms or 0.0,
                                       s.result, s.error)
                for s in record.steps
                if s.status in _DONE or (s.status in _STOPS
                                         and not critical.get(s.step_id, True))}
        await self.runs.reopen_run(record.id, resumer=self.actor)
        return await self._execute(record.id, record.target, spec, done, record.metadata,
                                   resumed=True)

    # -- internals ------------------------------------------------------------------------

    def _result_from_record(self, record: Any) -> RunResult:
        steps = {s.step_id: StepOutcome(s.step_id, s.action, s.status, s.duration_ms or 0.0,
                                        s.result, s.error) for s in record.steps}
        return RunResult(record.id, record.target, record.status, steps, record.metadata,
                         record.error)

    async def _start(self, kind: str, target: str, spec: SequenceSpec,
                     run_id: str | None) -> RunResult:
        run_id = run_id or uuid.uuid4().hex
        options: dict[str, Any] = {"env": self.env}
        action = None
        if kind == "action":
            options["args"] = spec.steps[0].with_
            action = self.manifest.action(target)
        # Masked before it is written; refused here (nothing ran) when the real values
        # should be kept and no key is set.
        options = await self.keeper.options(options, target=target, action=action)
        await self.runs.create_run(
            run_id, kind=kind, target=target, forensic=self.forensic,
            manifest_name=self.manifest.name, manifest_path=self.manifest_path,
            manifest_digest=self._digest, options=options, initiator=self.actor)
        return await self._execute(run_id, target, spec, {}, {}, resumed=False)

    def _emit(self, event: Any) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the run
                log.exception("run listener failed")

    async def _execute(self, run_id: str, target: str, spec: SequenceSpec,
                       done: dict[str, StepOutcome], published: dict[str, dict[str, Any]],
                       *, resumed: bool) -> RunResult:
        self.runs.hold(run_id)
        try:
            return await self._drive(run_id, target, spec, done, published, resumed=resumed)
        finally:  # however it ended, this process no longer executes the run
            self.runs.release(run_id)

    async def _drive(self, run_id: str, target: str, spec: SequenceSpec,
                     done: dict[str, StepOutcome], published: dict[str, dict[str, Any]],
                     *, resumed: bool) -> RunResult:
        steps = {step.step_id: step for step in spec.steps}
        deps = spec.dependencies()
        outcomes: dict[str, StepOutcome] = dict(done)
        metadata: dict[str, dict[str, Any]] = {k: dict(v) for k, v in published.items()}
        self._emit(RunStarted(run_id, target, tuple(steps), resumed))

        waiting = {sid: sum(1 for d in deps[sid] if d not in outcomes) for sid in steps
                   if sid not in outcomes}
        dependents: dict[str, list[str]] = {sid: [] for sid in steps}
        for sid, needs in deps.items():
            for dep in needs:
                dependents[dep].append(sid)
        ready = [sid for sid, count in waiting.items() if count == 0]
        ready.reverse()  # pop() from the end keeps declaration order
        finished: asyncio.Queue[StepOutcome] = asyncio.Queue()
        in_flight: dict[str, asyncio.Task[None]] = {}
        stop_error: str | None = None

        publish = self._publisher(run_id, metadata)

        broken: list[Exception] = []

        async def run_one(step: Step) -> None:
            try:
                outcome = await self._run_step(run_id, step, publish, metadata)
            except Exception as exc:
                # Not a step's failure (those are outcomes) but the run's: the store stopped
                # accepting writes, say. Hand it to the loop below, which would otherwise
                # wait for this step's outcome for ever.
                broken.append(exc)
                outcome = StepOutcome(step.step_id, step.action, "failed",
                                      error=f"{type(exc).__name__}: {exc}")
            finished.put_nowait(outcome)

        try:
            while ready or in_flight:
                while ready and stop_error is None and len(in_flight) < self.max_concurrency:
                    sid = ready.pop()
                    in_flight[sid] = asyncio.create_task(run_one(steps[sid]), name=sid)
                if not in_flight:
                    break
                outcome = await finished.get()
                in_flight.pop(outcome.step_id, None)
                outcomes[outcome.step_id] = outcome
                if broken:
                    await self._cancel_all(in_flight, steps, outcomes, finished)
                    raise broken[0]
                if outcome.status in _STOPS and steps[outcome.step_id].critical:
                    ended = ("failed" if outcome.status == "failed"
                             else "ended with an unknown outcome")
                    stop_error = f"critical step {outcome.step_id} {ended}: {outcome.error}"
                    await self._cancel_all(in_flight, steps, outcomes, finished)
                    break
                if outcome.status == "waiting":
                    continue  # its dependents wait with it; `resume` picks them up
                for nxt in dependents[outcome.step_id]:
                    waiting[nxt] -= 1
                    if waiting[nxt] == 0:
                        ready.append(nxt)
        except asyncio.CancelledError:
            await self._cancel_all(in_flight, steps, outcomes, finished)
            self._mark_not_started(run_id, steps, outcomes, {}, "cancelled")
            await asyncio.shield(self._finish(run_id, "cancelled", "cancelled by the user"))
            raise

        suspended = any(o.status == "waiting" for o in outcomes.values())
        if stop_error:
            self._mark_not_started(run_id, steps, outcomes, {}, "cancelled")
            status = "failed"
        elif suspended:
            self._mark_not_started(run_id, steps, outcomes, {}, "pending")
            status = "waiting"
        else:
            status = "succeeded"
        await self._finish(run_id, status, stop_error)
        ordered = {sid: outcomes[sid] for sid in steps if sid in outcomes}
        return RunResult(run_id, target, status, ordered, metadata, stop_error)

    @staticmethod
    async def _cancel_all(in_flight: dict[str, asyncio.Task[None]], steps: Mapping[str, Step],
                          outcomes: dict[str, StepOutcome],
                          finished: asyncio.Queue[StepOutcome]) -> None:
        """Cancel running steps and wait for them; each records its own cancellation."""
        for task in in_flight.values():
            task.cancel()
        for task in list(in_flight.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not finished.empty():  # steps that ended before the cancellation reached them
            outcome = finished.get_nowait()
            outcomes[outcome.step_id] = outcome
        for sid in in_flight:
            outcomes.setdefault(sid, StepOutcome(sid, steps[sid].action, "cancelled",
                                                 error="cancelled"))
        in_flight.clear()

    def _mark_not_started(self, run_id: str, steps: Mapping[str, Step],
                          outcomes: dict[str, StepOutcome], in_flight: Mapping[str, Any],
                          status: str) -> None:
        for sid, step in steps.items():
            if sid not in outcomes and sid not in in_flight:
                outcome = StepOutcome(sid, step.action, status, error="not started")
                outcomes[sid] = outcome
                self.runs.step_event(run_id, sid, step.action, status, error="not started")

    async def _finish(self, run_id: str, status: str, error: str | None) -> None:
        await self.runs.finish_run(run_id, status, error)
        self._emit(RunFinished(run_id, status, error))

    def _validate_args(self, action: str, schema: dict[str, Any], args: dict[str, Any]) -> None:
        if action not in self._validators:
            self._validators[action] = (jsonschema.Draft202012Validator(schema)
                                        if schema else None)
        validator = self._validators[action]
        if validator is None:
            return
        errors = sorted(validator.iter_errors(args), key=lambda e: list(e.path))
        if errors:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e.path) or '(arguments)'}: {e.message}"
                for e in errors)
            raise ConfigError(f"{action}: invalid arguments: {detail}")

    def _publisher(self, run_id: str,
                   metadata: dict[str, dict[str, Any]]) -> Callable[[str, str, Any], None]:
        def publish(action: str, key: str, value: Any) -> None:
            metadata.setdefault(action, {})[key] = value
            self.runs.publish(run_id, action, key, value)

        return publish

    async def _run_step(self, run_id: str, step: Step, publish: Any,
                        metadata: Mapping[str, Mapping[str, Any]], *,
                        autonomy: int | None = None, checked: bool = False) -> StepOutcome:
        """Run one step through the pipeline and record its outcome.

        `checked`: the caller already validated the arguments (with the action's `params`)
        against its `inputs` (the agent loop checks every tool call before it runs).
        """
        spec = self.manifest.action(step.action)
        args = {**spec.params, **step.with_}
        self._emit(StepStarted(run_id, step.step_id, step.action))
        self.runs.step_event(run_id, step.step_id, step.action, "running")
        started = time.perf_counter()
        result: Any = None
        error: str | None = None
        try:
            if not checked:
                self._validate_args(step.action, spec.inputs, args)
            # A gateway with `bind` stamps run, agent and action on every call (budgets, ledger).
            llm = (self.llm.bind(run_id=run_id, agent=step.action.partition(".")[0],
                                 action=step.action)
                   if hasattr(self.llm, "bind") else self.llm)
            ctx = ActionContext(
                run_id=run_id, action=step.action, step_id=step.step_id, spec=spec, args=args,
                env=self.env, forensic=self.forensic,
                logger=logging.getLogger(f"aios.action.{step.action}"), llm=llm,
                autonomy=autonomy, _publish=publish, _run_metadata=metadata,
                _checkpoint=self.runs.writer.flush)
            call = StepCall(ctx, self.registry.resolve(spec.handler), step.critical)
            result = await self._chain(call)
            status = "succeeded"
        except ActionSkipped as exc:
            status, error = "skipped", str(exc)
        except ActionSuspended as exc:
            status, error = "waiting", str(exc)
        except ActionOutcomeUnknown as exc:
            status, error = "unknown", f"{type(exc).__name__}: {exc}"
            when_finished(exc.late, lambda value, text: self.runs.step_event(
                run_id, step.step_id, step.action, "unknown", result=value,
                error=self.runs.masker.text(text) if text else text))
        except asyncio.CancelledError:
            duration = (time.perf_counter() - started) * 1000
            self.runs.step_event(run_id, step.step_id, step.action, "cancelled",
                                 duration_ms=duration, error="cancelled")
            self._emit(StepFinished(run_id, step.step_id, step.action, "cancelled", duration,
                                    None, "cancelled"))
            raise
        except Exception as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        duration = (time.perf_counter() - started) * 1000
        if status in _STOPS:  # errors often repeat the arguments: masked before anyone keeps them
            error = await self.runs.masker.atext(error)
        self.runs.step_event(run_id, step.step_id, step.action, status, duration_ms=duration,
                             result=result, error=error)
        if self.durable_step_ends:
            # The end is committed before the step counts as finished to anyone (its
            # progress line, its dependents): a kill after this instant cannot lose it.
            # Steps ending together share one commit. A store that refuses writes fails the
            # run when it finishes (the writer keeps the error); the outcome stands meanwhile.
            with contextlib.suppress(StoreError):
                await self.runs.writer.flush()
        self._emit(StepFinished(run_id, step.step_id, step.action, status, duration, result,
                                error))
        return StepOutcome(step.step_id, step.action, status, duration, result, error)


register_run_kind("sequence")(Runtime._resume_steps)
register_run_kind("action")(Runtime._resume_steps)
