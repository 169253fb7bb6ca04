"""Trajectory checks: did the agent take the expected actions, in the expected order?"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import Field

from aios.evaluation.datasets import Sample
from aios.evaluation.evaluators.base import (
    Evaluator,
    EvaluatorParams,
    Score,
    register_evaluator,
)
from aios.evaluation.targets import TargetOutput

__all__ = ["match_trajectory"]

Mode = Literal["exact", "in_order", "any_order"]


def _lcs(expected: Sequence[str], actual: Sequence[str]) -> int:
    """Length of the longest common subsequence: how much of `expected` appears in order."""
    prev = [0] * (len(actual) + 1)
    for want in expected:
        row = [0]
        for j, got in enumerate(actual, start=1):
            row.append(prev[j - 1] + 1 if want == got else max(prev[j], row[j - 1]))
        prev = row
    return prev[-1]


def match_trajectory(expected: Sequence[str], actual: Sequence[str],
                     mode: Mode) -> tuple[bool, float]:
    """Whether `actual` satisfies `expected` under `mode`, and the fraction matched.

    Modes: `exact` (the same actions in the same order, nothing else), `in_order` (the
    expected actions appear in this order, other actions may come between), `any_order`
    (every expected action appears, as often as expected, in any order).
    """
    if not expected:
        return (not actual if mode == "exact" else True), 1.0
    if mode == "exact":
        same = list(expected) == list(actual)
        matched = sum(1 for a, b in zip(expected, actual, strict=False) if a == b)
        return same, 1.0 if same else matched / max(len(expected), len(actual))
    if mode == "in_order":
        common = _lcs(expected, actual)
        return common == len(expected), common / len(expected)
    overlap = sum((Counter(expected) & Counter(actual)).values())
    return overlap == len(expected), overlap / len(expected)


class TrajectoryParams(EvaluatorParams):
    expected: list[str] | None = Field(
        None, description="The expected actions (default: the sample's metadata.trajectory, "
                          "else its target when that is a list).")
    mode: Mode = Field("in_order", description="exact, in_order (a subsequence), any_order.")
    ignore: list[str] = Field(default_factory=list, description="Glob patterns of actions to "
                                                                "leave out of the comparison.")


@register_evaluator("trajectory")
class Trajectory(Evaluator[TrajectoryParams]):
    """Compares the actions a target took with the expected action sequence."""

    Params = TrajectoryParams

    def _expected(self, sample: Sample) -> list[str] | None:
        if self.params.expected is not None:
            return self.params.expected
        from_meta = sample.metadata.get("trajectory")
        if isinstance(from_meta, list):
            return [str(a) for a in from_meta]
        if isinstance(sample.target, list):
            return [str(a) for a in sample.target]
        return None

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        expected = self._expected(sample)
        if expected is None:
            return Score.failure(f"sample {sample.id!r} gives no expected trajectory: set "
                                 "metadata.trajectory, a list target, or `expected`")
        if output.trajectory is None:
            return Score.failure("the target recorded no trajectory; use an `action` target "
                                 "or return TargetOutput(trajectory=...) from the callable")
        actual = [a for a in output.trajectory
                  if not any(fnmatchcase(a, pat) for pat in self.params.ignore)]
        passed, fraction = match_trajectory(expected, actual, self.params.mode)
        reason = (f"{self.params.mode}: expected {' > '.join(expected) or '(nothing)'}; "
                  f"got {' > '.join(actual) or '(nothing)'}")
        return Score.verdict(passed, reason, value=1.0 if passed else fraction,
                             expected=expected, actual=actual)
