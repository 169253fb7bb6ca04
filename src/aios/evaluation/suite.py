"""Suite files: which dataset, which target, which evaluators, how many at once, the gate.

```yaml
name: capitals
dataset: capitals.jsonl          # relative to this file
target: {type: model, model: local, max_tokens: 32}
evaluators:
  - name: contains
    params: {normalize: [case]}
  - exact_match                  # a bare name: default parameters
concurrency: 4
repeats: 1
fail_under: 0.8
```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aios.errors import DatasetError, Issue
from aios.evaluation.datasets import read_yaml
from aios.evaluation.evaluators import evaluator_param_errors
from aios.evaluation.targets import target_param_errors

__all__ = ["EvaluatorSpec", "Suite", "load_suite", "suite_from_mapping"]

Loc = tuple[str | int, ...]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EvaluatorSpec(_Frozen):
    """One evaluator of a suite."""

    name: str = Field(description="A registered evaluator name (exact_match, llm_judge, ...).")
    id: str | None = Field(None, description="Its label in reports (default: the name).")
    params: dict[str, Any] = Field(default_factory=dict, description="Its parameters.")

    @property
    def label(self) -> str:
        """The label results and reports use."""
        return self.id or self.name


class Suite(_Frozen):
    """An evaluation suite."""

    name: str = Field(description="The suite's name, shown in reports and run lists.")
    description: str = Field("", description="What the suite checks.")
    dataset: str = Field(description="The dataset file (.jsonl, .json, .yaml, .csv), relative "
                                     "to the suite file.")
    target: dict[str, Any] = Field(description="What to evaluate: {type: callable|model|http|"
                                               "action, ...parameters}.")
    evaluators: list[EvaluatorSpec] = Field(min_length=1, description="How to score outputs.")
    concurrency: int = Field(4, ge=1, le=256, description="Samples in flight at once.")
    repeats: int = Field(1, ge=1, le=100, description="Runs of each sample (pass@k, spread).")
    fail_under: float | None = Field(None, ge=0, le=1, description="Exit 1 when accuracy is "
                                                                   "below this.")
    judge: str | None = Field(None, description="Default judge model for judge evaluators.")
    limit: int | None = Field(None, ge=1, description="Evaluate only the first N samples.")
    timeout: float | None = Field(None, gt=0, description="Seconds a target may take per "
                                                          "sample.")
    max_retries: int = Field(5, ge=0, le=50, description="Retries of a rate-limited or "
                                                         "transiently failing sample.")
    source: str | None = Field(None, description="The suite file (set by load_suite).")

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if isinstance(data.get("target"), str):
            data["target"] = {"type": "callable", "ref": data["target"]}
        if isinstance(data.get("evaluators"), list):
            data["evaluators"] = [{"name": e} if isinstance(e, str) else e
                                  for e in data["evaluators"]]
        return data

    @property
    def base_dir(self) -> Path:
        """Where relative paths start: the suite file's directory (else the cwd)."""
        return Path(self.source).parent if self.source else Path.cwd()

    @property
    def dataset_path(self) -> Path:
        """The dataset file, resolved."""
        return self.base_dir / self.dataset


def _line_map(node: yaml.Node | None, loc: Loc, out: dict[Loc, int]) -> None:
    if node is None:
        return
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*loc, key.value)] = key.start_mark.line + 1
            _line_map(value, (*loc, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*loc, index), out)


def _line(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _dotted(loc: Loc) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def suite_from_mapping(data: Any, *, file: str = "<suite>",
                       lines: Mapping[Loc, int] | None = None) -> Suite:
    """Validate a suite document: fields, target parameters, evaluator names and parameters.

    Raises:
        DatasetError: every problem, each with file, line and field.
    """
    lines = lines or {}

    def issue(message: str, loc: Loc) -> Issue:
        return Issue(message, path=_dotted(loc), file=file, line=_line(lines, loc))

    if not isinstance(data, Mapping):
        raise DatasetError([Issue("a suite file must be a mapping (name:, dataset:, target:, "
                                  "evaluators:)", file=file, line=1)])
    try:
        suite = Suite.model_validate({**data, "source": file if file != "<suite>" else None})
    except ValidationError as exc:
        raise DatasetError([issue(e["msg"], tuple(e["loc"])) for e in exc.errors()]) from exc
    issues = [issue(msg, ("target", *loc)) for loc, msg in target_param_errors(suite.target)]
    seen: set[str] = set()
    for index, spec in enumerate(suite.evaluators):
        issues += [issue(msg, ("evaluators", index, *loc))
                   for loc, msg in evaluator_param_errors(spec.name, spec.params)]
        if spec.label in seen:
            issues.append(issue(f"two evaluators are labelled {spec.label!r}; give one an "
                                "`id:`", ("evaluators", index)))
        seen.add(spec.label)
    if issues:
        raise DatasetError(issues)
    return suite


def load_suite(path: Path | str) -> Suite:
    """Read and validate a YAML (or JSON) suite file.

    Raises:
        DatasetError: the file is missing or malformed; each problem names file:line:field.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError([Issue(f"cannot read the suite file: {exc.strerror or exc}",
                                  file=file)]) from exc
    data, node = read_yaml(text, file)
    lines: dict[Loc, int] = {}
    _line_map(node, (), lines)
    return suite_from_mapping(data, file=file, lines=lines)
