"""The evaluator interface, its score record, and the registry evaluators join by name."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from aios.errors import ConfigError
from aios.evaluation.datasets import Sample
from aios.evaluation.targets import TargetOutput
from aios.registry import Registry

__all__ = ["EVALUATORS", "Evaluator", "EvaluatorContext", "EvaluatorParams", "Score",
           "build_evaluator", "evaluator_param_errors", "output_text", "register_evaluator"]


@dataclass(frozen=True)
class Score:
    """One evaluator's verdict on one output.

    Attributes:
        value: the score in [0, 1] (None when the evaluator could not score).
        passed: the pass/fail verdict (None when it could not score or was skipped).
        reason: why, in words a reviewer can check.
        error: set when the evaluator failed (an unparseable judge reply ...): never a pass.
        skipped: True when the evaluator could not run here (a missing service); a skipped
            score neither passes nor fails the sample.
        details: evaluator-specific extras (judge spread, both pairwise orders, ...).
    """

    value: float | None
    passed: bool | None
    reason: str = ""
    error: str | None = None
    skipped: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def verdict(cls, passed: bool, reason: str = "", value: float | None = None,
                **details: Any) -> Score:
        """A pass/fail score (value 1.0 or 0.0 unless given)."""
        return cls(value=float(passed) if value is None else value, passed=passed,
                   reason=reason, details=details)

    @classmethod
    def failure(cls, error: str, **details: Any) -> Score:
        """The evaluator could not score: recorded as an error, never as a pass."""
        return cls(value=None, passed=None, error=error, details=details)

    @classmethod
    def skip(cls, why: str) -> Score:
        """The evaluator cannot run in this setup; `why` says what to install or configure."""
        return cls(value=None, passed=None, error=why, skipped=True)

    @property
    def status(self) -> str:
        """`passed`, `failed`, `error` or `skipped`."""
        if self.skipped:
            return "skipped"
        if self.error is not None or self.passed is None:
            return "error"
        return "passed" if self.passed else "failed"

    def to_json(self) -> dict[str, Any]:
        """The score as stored in `eval_results.scores`."""
        return {"value": self.value, "passed": self.passed, "status": self.status,
                "reason": self.reason, "error": self.error, "details": dict(self.details)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Score:
        """The inverse of `to_json`."""
        return cls(value=data.get("value"), passed=data.get("passed"),
                   reason=data.get("reason") or "", error=data.get("error"),
                   skipped=data.get("status") == "skipped",
                   details=dict(data.get("details") or {}))


@dataclass(frozen=True)
class EvaluatorContext:
    """What evaluators may use.

    Attributes:
        gateway: the model gateway (`await gateway.complete(request)`), for judges.
        judge_model: the default judge model (a model name the gateway knows).
        embedder: the embedding service, for similarity evaluators.
        base_dir: the suite file's directory (relative schema files start there).
    """

    gateway: Any = None
    judge_model: str | None = None
    embedder: Any = None
    base_dir: Path = field(default_factory=Path.cwd)


class EvaluatorParams(BaseModel):
    """Base of evaluator parameter models: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


P = TypeVar("P", bound=EvaluatorParams)


class Evaluator(Generic[P]):
    """Base of every evaluator: scores one target output against its sample."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[EvaluatorParams]] = EvaluatorParams

    def __init__(self, params: P, ctx: EvaluatorContext):
        self.params = params
        self.ctx = ctx

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        """Score `output`; raising records an error for this evaluator on this sample."""
        raise NotImplementedError


EVALUATORS: Registry[type[Evaluator[Any]]] = Registry("evaluator", name_attr="name")


def register_evaluator(name: str) -> Callable[[type[Evaluator[Any]]], type[Evaluator[Any]]]:
    """Register an evaluator class under `name` (what suites write in `evaluators:`)."""

    return EVALUATORS.register(name)


def evaluator_param_errors(name: str, params: Mapping[str, Any]
                           ) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems with an evaluator entry as (location, message) pairs; empty when valid."""
    if name not in EVALUATORS:
        return [(("name",), EVALUATORS.unknown(name))]
    cls = EVALUATORS[name]
    try:
        cls.Params.model_validate(dict(params))
    except ValidationError as exc:
        return [(("params", *e["loc"]), e["msg"]) for e in exc.errors()]
    return []


def build_evaluator(name: str, params: Mapping[str, Any] | None = None,
                    ctx: EvaluatorContext | None = None) -> Evaluator[Any]:
    """The evaluator registered as `name`, with its parameters validated.

    Raises:
        ConfigError: unknown name (the message lists the known ones) or bad parameters.
    """
    problems = evaluator_param_errors(name, params or {})
    if problems:
        raise ConfigError("; ".join(
            f"evaluator {name}: {'.'.join(str(p) for p in loc)}: {msg}" if loc != ("name",)
            else msg for loc, msg in problems))
    cls = EVALUATORS[name]
    return cls(cls.Params.model_validate(dict(params or {})), ctx or EvaluatorContext())


def output_text(output: Any) -> str:
    """A target output as text: strings as they are, anything else as compact JSON."""
    if isinstance(output, str):
        return output
    if output is None:
        return ""
    return json.dumps(output, default=str, ensure_ascii=False, sort_keys=True)
