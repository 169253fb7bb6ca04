"""The harness: runs a suite's samples through its target and evaluators, durably.

Samples run with bounded concurrency; a rate-limited or transiently failing target is retried
with backoff (honouring `retry_after`, and pausing every worker while the provider asked us
to wait); a target that raises is recorded for its sample and the suite goes on. Each result
is stored as it finishes, so an interrupted run resumes without redoing finished samples.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
)
from tenacity.wait import wait_exponential, wait_random

from aios.errors import ConfigError, ConflictError, TransientProviderError
from aios.evaluation.datasets import Sample, load_dataset
from aios.evaluation.evaluators import Evaluator, EvaluatorContext, Score, build_evaluator
from aios.evaluation.records import EvalRunRecord, EvalStore, ResultRecord
from aios.evaluation.suite import Suite
from aios.evaluation.summary import Summary, summarize
from aios.evaluation.targets import Target, TargetContext, TargetOutput, build_target
from aios.settings import Settings
from aios.store.engine import Store

__all__ = ["EvalReport", "Harness", "Progress", "load_report"]

#: Total seconds one sample may spend backing off before its error is recorded.
_RETRY_BUDGET_S = 600.0


class Progress(Protocol):
    """What the harness tells a progress display (the CLI's Rich bar)."""

    def start(self, total: int, done: int, description: str) -> None:
        """`total` results expected, `done` of them already stored (a resumed run)."""

    def advance(self, result: ResultRecord) -> None:
        """One more result is stored."""


@dataclass(frozen=True)
class EvalReport:
    """A finished run: its record, its summary and every result."""

    run: EvalRunRecord
    summary: Summary
    results: list[ResultRecord]


def _backoff(fallback: Callable[[RetryCallState], float]) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        return float(after) if after is not None else fallback(state)

    return wait


class Harness:
    """Runs suites against the store.

    Args:
        store: where runs and results are recorded.
        gateway: the model gateway, for `model` targets and judge evaluators.
        settings: passed to `action` targets (which open the runtime).
        embedder: the embedding service, for `embedding_similarity`.
        progress: a progress display, or None.
        sleep: the backoff sleep (tests pass a fake to keep time out of them).
    """

    def __init__(self, store: Store, *, gateway: Any = None, settings: Settings | None = None,
                 embedder: Any = None, progress: Progress | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.store = store
        self.gateway = gateway
        self.settings = settings
        self.embedder = embedder
        self.progress = progress
        self.sleep = sleep
        self._resume_at = 0.0

    async def run(self, suite: Suite | None = None, *, resume: str | None = None,
                  run_id: str | None = None) -> EvalReport:
        """Run `suite`, or continue run `resume` with the suite stored in it.

        A resumed run skips the (sample, repeat) pairs that already have a stored result.

        Raises:
            DatasetError: the dataset is malformed.
            ConfigError: unknown evaluator or target, bad parameters.
            ConflictError: resuming a run whose dataset file has changed since.
        """
        evals = EvalStore(self.store)
        try:
            return await self._run(evals, suite, resume, run_id)
        finally:
            await evals.close()

    async def _run(self, evals: EvalStore, suite: Suite | None, resume: str | None,
                   run_id: str | None) -> EvalReport:
        done: set[tuple[str, int]] = set()
        if resume is None and suite is None:
            raise ConfigError("give a suite to run, or the id of a run to resume")
        if resume:
            record = await evals.get_run(resume)
            run_id = record.id
            if suite is not None and suite.name != record.suite:
                raise ConflictError(f"run {run_id} ran suite {record.suite!r}, not "
                                    f"{suite.name!r}; resume it with its own suite")
            suite = Suite.model_validate(record.spec)  # the run's own suite, not today's
            dataset = load_dataset(suite.dataset_path)
            if dataset.digest != record.dataset_digest:
                raise ConflictError(f"dataset {dataset.path} changed since run {run_id} "
                                    "started; resuming would mix two datasets. Start a new "
                                    "run: aios eval run SUITE")
            done = await evals.done_items(run_id)
        else:
            assert suite is not None
            dataset = load_dataset(suite.dataset_path)
        samples = dataset.samples[: suite.limit] if suite.limit else dataset.samples
        evaluators = self._evaluators(suite)
        async with build_target(suite.target, TargetContext(
                settings=self.settings, gateway=self.gateway,
                base_dir=suite.base_dir)) as target:
            if resume:
                await evals.reopen_run(str(run_id))
            else:
                run_id = run_id or uuid.uuid4().hex
                await evals.create_run(
                    run_id, suite=suite.name, suite_path=suite.source,
                    spec=suite.model_dump(mode="json", by_alias=True),
                    dataset_digest=dataset.digest, target=target.describe(),
                    samples=len(samples), repeats=suite.repeats)
            assert run_id is not None
            # Earlier sessions' results come from the store, this session's from memory.
            results = await evals.results(run_id) if done else []
            results += await self._execute(evals, run_id, suite, samples, target,
                                           evaluators, done)
        return await self._finish(evals, run_id, suite, len(samples), results)

    def _evaluators(self, suite: Suite) -> dict[str, Evaluator[Any]]:
        ctx = EvaluatorContext(gateway=self.gateway, judge_model=suite.judge,
                               embedder=self.embedder, base_dir=suite.base_dir)
        return {spec.label: build_evaluator(spec.name, spec.params, ctx)
                for spec in suite.evaluators}

    async def _execute(self, evals: EvalStore, run_id: str, suite: Suite,
                       samples: tuple[Sample, ...], target: Target[Any],
                       evaluators: dict[str, Evaluator[Any]],
                       done: set[tuple[str, int]]) -> list[ResultRecord]:
        todo = [(s, r) for s in samples for r in range(suite.repeats) if (s.id, r) not in done]
        if self.progress is not None:
            self.progress.start(len(samples) * suite.repeats,
                                len(samples) * suite.repeats - len(todo), suite.name)
        items: Iterator[tuple[Sample, int]] = iter(todo)
        finished: list[ResultRecord] = []

        async def worker() -> None:
            for sample, repeat in items:  # a shared iterator: each item goes to one worker
                result = await self._one(run_id, suite, sample, repeat, target, evaluators)
                evals.put_result(result)
                finished.append(result)
                if self.progress is not None:
                    self.progress.advance(result)

        workers = [asyncio.create_task(worker()) for _ in range(min(suite.concurrency,
                                                                    len(todo)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            # Keep what finished: a resume must not redo it.
            await asyncio.shield(evals.finish_run(run_id, "interrupted", summary=None,
                                                  error="interrupted; resume with "
                                                        f"aios eval run --resume {run_id}"))
            raise
        return finished

    async def _attempt(self, suite: Suite, target: Target[Any], sample: Sample) -> TargetOutput:
        delay = self._resume_at - time.monotonic()
        if delay > 0:  # a worker was told to back off: so is everyone
            await self.sleep(delay)
        try:
            if suite.timeout is None:
                return await target(sample)
            async with asyncio.timeout(suite.timeout):
                return await target(sample)
        except TransientProviderError as exc:
            if exc.retry_after:
                self._resume_at = max(self._resume_at, time.monotonic() + exc.retry_after)
            raise

    async def _call_target(self, suite: Suite, target: Target[Any],
                           sample: Sample) -> TargetOutput:
        try:  # the common case pays for no retry machinery
            return await self._attempt(suite, target, sample)
        except TransientProviderError as exc:
            if suite.max_retries == 0:
                raise
            await self.sleep(exc.retry_after if exc.retry_after is not None else 0.5)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientProviderError),
            stop=stop_after_attempt(suite.max_retries) | stop_after_delay(_RETRY_BUDGET_S),
            wait=_backoff(wait_exponential(multiplier=1.0, max=30.0) + wait_random(0, 0.5)),
            sleep=self.sleep, reraise=True)
        async for attempt in retrying:
            with attempt:
                return await self._attempt(suite, target, sample)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _one(self, run_id: str, suite: Suite, sample: Sample, repeat: int,
                   target: Target[Any], evaluators: dict[str, Evaluator[Any]]) -> ResultRecord:
        started = time.perf_counter()
        output: TargetOutput | None = None
        error: str | None = None
        try:
            output = await self._call_target(suite, target, sample)
            error = output.error
        except TimeoutError:
            error = f"TimeoutError: the target took longer than {suite.timeout}s"
        except Exception as exc:  # a failing target fails its sample, never the suite
            error = f"{type(exc).__name__}: {exc}"
        latency = time.perf_counter() - started
        scores: dict[str, Score] = {}
        if output is not None:
            for label, evaluator in evaluators.items():
                try:
                    scores[label] = await evaluator.score(sample, output)
                except Exception as exc:
                    scores[label] = Score.failure(f"{type(exc).__name__}: {exc}")
        ran = [s for s in scores.values() if not s.skipped]
        if error is not None or not ran or any(s.status == "error" for s in ran):
            status = "error"
        else:
            status = "passed" if all(s.passed for s in ran) else "failed"
        return ResultRecord(
            run_id=run_id, sample_id=sample.id, repeat=repeat, status=status,
            input=sample.input_json(), expected=sample.target,
            output=_jsonable(output.output) if output else None, error=error, scores=scores,
            trajectory=list(output.trajectory) if output and output.trajectory is not None
            else None, tags=list(sample.tags), latency_s=latency,
            input_tokens=output.input_tokens if output else 0,
            output_tokens=output.output_tokens if output else 0,
            cost_usd=output.cost_usd if output else 0.0)

    async def _finish(self, evals: EvalStore, run_id: str, suite: Suite, samples: int,
                      results: list[ResultRecord]) -> EvalReport:
        await evals.flush()
        summary = summarize(results, run_id=run_id, suite=suite.name,
                            target=(await evals.get_run(run_id)).target, status="succeeded",
                            samples=samples, repeats=suite.repeats,
                            evaluators=[e.label for e in suite.evaluators],
                            fail_under=suite.fail_under)
        await evals.finish_run(run_id, "succeeded", summary=summary.to_json())
        return EvalReport(run=await evals.get_run(run_id), summary=summary, results=results)


def _jsonable(value: Any) -> Any:
    """Outputs are stored as JSON: values JSON cannot hold are kept as their text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


async def load_report(store: Store, run_id: str) -> EvalReport:
    """A stored run with its results; the summary is recomputed for unfinished runs.

    Raises:
        NotFoundError: no run has this id (or prefix).
    """
    evals = EvalStore(store)
    record = await evals.get_run(run_id)
    results = await evals.results(record.id)
    if record.summary and record.status == "succeeded":
        summary = Summary.from_json(record.summary)
    else:
        suite = Suite.model_validate(record.spec)
        summary = summarize(results, run_id=record.id, suite=record.suite,
                            target=record.target, status=record.status,
                            samples=record.samples, repeats=record.repeats,
                            evaluators=[e.label for e in suite.evaluators],
                            fail_under=suite.fail_under)
    return EvalReport(run=record, summary=summary, results=results)
