"""Human evaluation: an annotation queue in the store, and agreement as Cohen's kappa.

Annotators label the results of a run (`pass`/`fail`, or any short label). Agreement between
two annotators, and between each annotator and an automatic judge, is Cohen's kappa, so users
can see whether the judge can be trusted before they let it gate anything.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, insert, select

from aios.errors import ConfigError, NotFoundError
from aios.evaluation.records import EvalStore, ResultRecord
from aios.evaluation.tables import eval_annotations, eval_results
from aios.store.engine import Store

__all__ = ["Agreement", "Annotation", "AnnotationQueue", "cohen_kappa"]

#: The labels `pass` and `fail` compare with automatic verdicts; others are free-form.
VERDICT_LABELS = ("pass", "fail")


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two raters' labels on the same items.

    kappa = (p_o - p_e) / (1 - p_e), with p_o the observed agreement (the confusion matrix
    diagonal) and p_e the agreement expected from each rater's label frequencies. 1 is
    perfect agreement, 0 what chance gives, below 0 worse than chance. When both raters use
    a single label throughout, p_e is 1 and kappa is defined here as 1.0 if they agree.

    Raises:
        ValueError: the sequences differ in length or are empty.
    """
    if len(a) != len(b):
        raise ValueError("both raters must label the same items")
    if not a:
        raise ValueError("no items to compare")
    labels = sorted({*a, *b}, key=str)
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=float)
    for x, y in zip(a, b, strict=True):
        matrix[index[x], index[y]] += 1
    total = matrix.sum()
    observed = np.trace(matrix) / total
    expected = float(matrix.sum(axis=1) @ matrix.sum(axis=0)) / total ** 2
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return float((observed - expected) / (1.0 - expected))


@dataclass(frozen=True)
class Annotation:
    """One annotator's label on one result of a run."""

    run_id: str
    sample_id: str
    repeat: int
    annotator: str
    label: str
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class Agreement:
    """Kappa between two raters on the items both labelled (`judge:X` is an evaluator)."""

    rater_a: str
    rater_b: str
    items: int
    kappa: float | None
    observed: float | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


def _auto_label(result: ResultRecord, evaluator: str | None) -> str | None:
    """The pass/fail verdict of the run's evaluators (one, or all together), if any."""
    if evaluator is None:
        return {"passed": "pass", "failed": "fail"}.get(result.status)
    score = result.scores.get(evaluator)
    if score is None or score.status not in ("passed", "failed"):
        return None
    return "pass" if score.passed else "fail"


class AnnotationQueue:
    """The annotation queue of a store: what is left to label, labelling, agreement.

    The REST server and the CLI use this same API.
    """

    def __init__(self, store: Store):
        self.store = store
        self._evals = EvalStore(store)

    async def items(self, run_id: str) -> list[ResultRecord]:
        """Every result of a run, in the order they finished (the queue's items)."""
        return await self._evals.results(await self._evals.find_run_id(run_id))

    async def pending(self, run_id: str, annotator: str) -> list[ResultRecord]:
        """The results of a run that `annotator` has not labelled yet."""
        run_id = await self._evals.find_run_id(run_id)
        done = {(a.sample_id, a.repeat) for a in await self.labels(run_id)
                if a.annotator == annotator}
        return [r for r in await self._evals.results(run_id)
                if (r.sample_id, r.repeat) not in done]

    async def label(self, run_id: str, sample_id: str, label: str, *, annotator: str,
                    repeat: int = 0, note: str | None = None) -> Annotation:
        """Record (or replace) `annotator`'s label on one result.

        Raises:
            NotFoundError: the run has no result for this sample and repeat.
            ConfigError: the label or the annotator name is empty.
        """
        label, annotator = label.strip().lower(), annotator.strip()
        if not label or len(label) > 50:
            raise ConfigError(f"label {label!r} must be 1 to 50 characters, e.g. pass or fail")
        if not annotator:
            raise ConfigError("the annotator name is empty; pass --annotator NAME")
        run_id = await self._evals.find_run_id(run_id)
        item = and_(eval_results.c.run_id == run_id, eval_results.c.sample_id == sample_id,
                    eval_results.c.repeat == repeat)
        mine = and_(eval_annotations.c.run_id == run_id,
                    eval_annotations.c.sample_id == sample_id,
                    eval_annotations.c.repeat == repeat,
                    eval_annotations.c.annotator == annotator)
        now = datetime.now(UTC)
        async with self.store.engine.begin() as conn:
            if (await conn.execute(select(eval_results.c.id).where(item))).first() is None:
                raise NotFoundError(f"run {run_id} has no result for sample {sample_id!r} "
                                    f"(repeat {repeat}); `aios eval show {run_id[:12]}` lists "
                                    "them")
            await conn.execute(delete(eval_annotations).where(mine))
            await conn.execute(insert(eval_annotations).values(
                run_id=run_id, sample_id=sample_id, repeat=repeat, annotator=annotator,
                label=label, note=note, created_at=now))
        return Annotation(run_id, sample_id, repeat, annotator, label, note, now)

    async def labels(self, run_id: str) -> list[Annotation]:
        """Every label recorded on a run."""
        run_id = await self._evals.find_run_id(run_id)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(eval_annotations).where(
                eval_annotations.c.run_id == run_id).order_by(eval_annotations.c.id))
                    ).mappings().all()
        return [Annotation(r["run_id"], r["sample_id"], r["repeat"], r["annotator"],
                           r["label"], r["note"],
                           r["created_at"])
                for r in rows]

    async def agreement(self, run_id: str, *, evaluators: Sequence[str] = ()
                        ) -> list[Agreement]:
        """Kappa between every pair of annotators, and between each annotator and the judge.

        Args:
            evaluators: evaluator labels whose pass/fail verdicts count as raters
                (`judge:<label>`); the run's overall verdict is always one (`judge:overall`).
        """
        run_id = await self._evals.find_run_id(run_id)
        raters: dict[str, dict[tuple[str, int], str]] = {}
        for a in await self.labels(run_id):
            raters.setdefault(a.annotator, {})[(a.sample_id, a.repeat)] = a.label
        humans = sorted(raters)
        results = await self._evals.results(run_id)
        for evaluator in [None, *evaluators]:
            verdicts = {(r.sample_id, r.repeat): _auto_label(r, evaluator) for r in results}
            raters[f"judge:{evaluator or 'overall'}"] = {k: v for k, v in verdicts.items()
                                                         if v is not None}
        pairs = list(combinations(humans, 2)) + [
            (h, j) for h in humans for j in raters if j.startswith("judge:")]
        out: list[Agreement] = []
        for x, y in pairs:
            shared = sorted(set(raters[x]) & set(raters[y]))
            if not shared:
                out.append(Agreement(x, y, 0, None, None))
                continue
            la, lb = [raters[x][k] for k in shared], [raters[y][k] for k in shared]
            observed = sum(p == q for p, q in zip(la, lb, strict=True)) / len(shared)
            out.append(Agreement(x, y, len(shared), cohen_kappa(la, lb), observed))
        return out
