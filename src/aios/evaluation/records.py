"""Evaluation runs and per-sample results in the store (`eval_runs`, `eval_results`)."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psutil
from sqlalchemy import func, insert, select, update

from aios.errors import NotFoundError
from aios.evaluation.evaluators import Score
from aios.evaluation.tables import eval_results, eval_runs
from aios.store.engine import Store
from aios.store.runs import utcnow
from aios.store.writer import BatchWriter

__all__ = ["EvalRunRecord", "EvalStore", "ResultRecord"]


@dataclass(frozen=True)
class ResultRecord:
    """One (sample, repeat) of a run: the output, its scores, what it cost.

    `status` is `passed` (every evaluator that ran passed), `failed`, or `error` (the target
    raised or reported a failure, or an evaluator could not score).
    """

    run_id: str
    sample_id: str
    repeat: int
    status: str
    input: Any = None
    expected: Any = None
    output: Any = None
    error: str | None = None
    scores: dict[str, Score] = field(default_factory=dict)
    trajectory: list[str] | None = None
    tags: list[str] = field(default_factory=list)
    latency_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def passed(self) -> bool:
        """True when the status is `passed`."""
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {"sample_id": self.sample_id, "repeat": self.repeat, "status": self.status,
                "input": self.input, "expected": self.expected, "output": self.output,
                "error": self.error,
                "scores": {k: v.to_json() for k, v in self.scores.items()},
                "trajectory": self.trajectory, "tags": self.tags, "latency_s": self.latency_s,
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost_usd": self.cost_usd}


@dataclass(frozen=True)
class EvalRunRecord:
    """One suite run as stored."""

    id: str
    suite: str
    suite_path: str | None
    spec: dict[str, Any]
    dataset_digest: str
    target: str
    status: str
    samples: int
    repeats: int
    summary: dict[str, Any] | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """The run as JSON-ready data (without the summary)."""
        return {"id": self.id, "suite": self.suite, "suite_path": self.suite_path,
                "target": self.target, "status": self.status, "samples": self.samples,
                "repeats": self.repeats, "error": self.error,
                "created_at": self.created_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}


def _status(row: Any) -> str:
    """`interrupted` for a run still marked running whose process on this host is gone."""
    status = str(row["status"])
    if status == "running" and row["pid"] and row["host"] == socket.gethostname():
        try:
            alive = (psutil.pid_exists(row["pid"])
                     and psutil.Process(row["pid"]).status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            alive = False
        if not alive:
            return "interrupted"
    return status


class EvalStore:
    """Reads and writes evaluation runs; results are queued on a group-commit writer."""

    def __init__(self, store: Store, writer: BatchWriter | None = None):
        self.store = store
        self.writer = writer or BatchWriter(store)
        self._target = self.writer.rows_written  # rows that must be committed after a flush

    async def create_run(self, run_id: str, *, suite: str, suite_path: str | None,
                         spec: dict[str, Any], dataset_digest: str, target: str,
                         samples: int, repeats: int) -> None:
        """Insert the run record, committed before any sample runs."""
        async with self.store.engine.begin() as conn:
            await conn.execute(insert(eval_runs).values(
                id=run_id, suite=suite, suite_path=suite_path, spec=spec,
                dataset_digest=dataset_digest, target=target, status="running",
                samples=samples, repeats=repeats, summary=None, error=None, pid=os.getpid(),
                host=socket.gethostname(), created_at=utcnow()))

    async def reopen_run(self, run_id: str) -> None:
        """Mark a run as running again in this process (resume)."""
        async with self.store.engine.begin() as conn:
            await conn.execute(update(eval_runs).where(eval_runs.c.id == run_id).values(
                status="running", pid=os.getpid(), host=socket.gethostname(),
                finished_at=None, error=None))

    def put_result(self, result: ResultRecord) -> None:
        """Queue one result (committed within one flush cycle)."""
        self.writer.put(eval_results, {
            "run_id": result.run_id, "sample_id": result.sample_id, "repeat": result.repeat,
            "status": result.status, "input": result.input, "expected": result.expected,
            "output": result.output, "error": result.error,
            "scores": {k: v.to_json() for k, v in result.scores.items()},
            "trajectory": result.trajectory, "tags": result.tags,
            "latency_s": result.latency_s, "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens, "cost_usd": result.cost_usd,
            "created_at": utcnow()})
        self._target += 1

    async def flush(self) -> None:
        """Return once every result queued so far is committed.

        `BatchWriter.flush` returns at once when its queue is empty even if the batch it took
        last is still being committed; counting committed rows closes that gap.
        """
        await self.writer.flush()
        while self.writer.rows_written < self._target:
            await asyncio.sleep(0.001)
            await self.writer.flush()

    async def finish_run(self, run_id: str, status: str, *, summary: dict[str, Any] | None,
                         error: str | None = None) -> None:
        """Flush queued results, then record the run's final state and summary."""
        await self.flush()
        async with self.store.engine.begin() as conn:
            await conn.execute(update(eval_runs).where(eval_runs.c.id == run_id).values(
                status=status, summary=summary, error=error, finished_at=utcnow()))

    async def close(self) -> None:
        """Flush and stop the writer."""
        await self.flush()
        await self.writer.close()

    async def find_run_id(self, prefix: str) -> str:
        """Expand a unique prefix of an evaluation run id.

        Raises:
            NotFoundError: no run, or several, start with `prefix`.
        """
        async with self.store.engine.connect() as conn:
            ids = (await conn.execute(select(eval_runs.c.id).where(
                eval_runs.c.id.startswith(prefix, autoescape=True)).limit(3))).scalars().all()
        if len(ids) == 1:
            return str(ids[0])
        if not ids:
            raise NotFoundError(f"no evaluation run with id {prefix!r}; `aios eval runs` "
                                "lists recent ones")
        raise NotFoundError(f"evaluation run id prefix {prefix!r} is ambiguous "
                            f"({', '.join(ids)}, ...); give more characters")

    def _record(self, row: Any) -> EvalRunRecord:
        return EvalRunRecord(
            id=row["id"], suite=row["suite"], suite_path=row["suite_path"],
            spec=dict(row["spec"] or {}), dataset_digest=row["dataset_digest"],
            target=row["target"], status=_status(row), samples=row["samples"],
            repeats=row["repeats"], summary=row["summary"], error=row["error"],
            created_at=row["created_at"],
            finished_at=row["finished_at"])

    async def get_run(self, run_id: str) -> EvalRunRecord:
        """One run, by id or unique prefix."""
        run_id = await self.find_run_id(run_id)
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(eval_runs).where(
                eval_runs.c.id == run_id))).mappings().one()
        return self._record(row)

    async def list_runs(self, limit: int = 20, suite: str | None = None
                        ) -> list[EvalRunRecord]:
        """The most recent runs first."""
        query = select(eval_runs).order_by(eval_runs.c.created_at.desc()).limit(limit)
        if suite:
            query = query.where(eval_runs.c.suite == suite)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [self._record(row) for row in rows]

    async def results(self, run_id: str) -> list[ResultRecord]:
        """Every stored result of a run, in the order they finished."""
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(eval_results).where(
                eval_results.c.run_id == run_id).order_by(eval_results.c.id))).mappings().all()
        return [ResultRecord(
            run_id=row["run_id"], sample_id=row["sample_id"], repeat=row["repeat"],
            status=row["status"], input=row["input"], expected=row["expected"],
            output=row["output"], error=row["error"],
            scores={k: Score.from_json(v) for k, v in (row["scores"] or {}).items()},
            trajectory=row["trajectory"], tags=list(row["tags"] or []),
            latency_s=row["latency_s"], input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"], cost_usd=row["cost_usd"]) for row in rows]

    async def done_items(self, run_id: str) -> set[tuple[str, int]]:
        """The (sample id, repeat) pairs of a run that already have a result."""
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(eval_results.c.sample_id, eval_results.c.repeat)
                                       .where(eval_results.c.run_id == run_id))).all()
        return {(str(s), int(r)) for s, r in rows}

    async def count_results(self, run_id: str) -> int:
        """How many results a run has stored."""
        async with self.store.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(eval_results)
                                           .where(eval_results.c.run_id == run_id))).scalar()
                       or 0)
