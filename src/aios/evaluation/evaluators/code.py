"""Code evaluators: exact match, contains, regex, JSON validity and schema, numeric tolerance."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from pydantic import Field, field_validator, model_validator

from aios.errors import ConfigError
from aios.evaluation.datasets import Sample
from aios.evaluation.evaluators.base import (
    Evaluator,
    EvaluatorContext,
    EvaluatorParams,
    Score,
    output_text,
    register_evaluator,
)
from aios.evaluation.targets import TargetOutput

__all__ = ["normalize_text", "parse_json_output"]

Normalization = Literal["case", "whitespace", "punctuation", "articles"]
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")


def normalize_text(text: str, options: Sequence[str]) -> str:
    """`text` with the chosen normalisations applied, in SQuAD order.

    Options: `case` (lower-case), `punctuation` (drop Unicode punctuation), `articles` (drop
    English a/an/the), `whitespace` (collapse runs of whitespace, trim).
    """
    if "case" in options:
        text = text.casefold()
    if "punctuation" in options:
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    if "articles" in options:
        text = _ARTICLES.sub(" ", text)
    if "whitespace" in options:
        text = " ".join(text.split())
    return text


def parse_json_output(output: Any) -> Any:
    """The JSON value of an output: strings are parsed (a ```json fence is allowed).

    Raises:
        ValueError: the text is not JSON.
    """
    if not isinstance(output, str):
        return output
    match = _FENCE.match(output)
    text = match.group(1) if match else output
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno} column "
                         f"{exc.colno}") from exc


def _missing_target(sample: Sample, name: str) -> Score:
    return Score.failure(f"sample {sample.id!r} has no target; {name} needs `target` "
                         "(or `ideal`) in the dataset, or a `value` parameter")


class _Normalized(EvaluatorParams):
    normalize: list[Normalization] = Field(
        default_factory=list, description="Normalisations applied to both sides: case, "
                                          "whitespace, punctuation, articles.")


@register_evaluator("exact_match")
class ExactMatch(Evaluator[_Normalized]):
    """The output equals the target (or one of the targets) after normalisation."""

    Params = _Normalized

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        if not sample.targets:
            return _missing_target(sample, self.name)
        got = normalize_text(output_text(output.output).strip(), self.params.normalize)
        for want in sample.targets:
            if got == normalize_text(output_text(want).strip(), self.params.normalize):
                return Score.verdict(True, f"matches {want!r}")
        return Score.verdict(False, f"{got[:80]!r} matches none of {len(sample.targets)} "
                                    "target(s)")


class ContainsParams(_Normalized):
    value: str | list[str] | None = Field(
        None, description="Text to look for (default: the sample's target(s)).")
    all: bool = Field(False, description="Require every value, not just one.")


@register_evaluator("contains")
class Contains(Evaluator[ContainsParams]):
    """The output contains the target text (any of several, or all with `all: true`)."""

    Params = ContainsParams

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        p = self.params
        wanted: tuple[Any, ...] = ((p.value,) if isinstance(p.value, str)
                                   else tuple(p.value) if p.value else sample.targets)
        if not wanted:
            return _missing_target(sample, self.name)
        got = normalize_text(output_text(output.output), p.normalize)
        found = [w for w in wanted if normalize_text(output_text(w), p.normalize) in got]
        passed = len(found) == len(wanted) if p.all else bool(found)
        return Score.verdict(passed, f"found {len(found)} of {len(wanted)}: "
                                     f"{', '.join(repr(f) for f in found[:5]) or 'none'}",
                             value=len(found) / len(wanted) if p.all else None)


class RegexParams(EvaluatorParams):
    pattern: str | None = Field(None, description="The regular expression (default: the "
                                                  "sample's target, as a pattern).")
    ignore_case: bool = Field(False, description="Match case-insensitively.")
    fullmatch: bool = Field(False, description="The whole output must match, not a part.")
    multiline: bool = Field(False, description="`^` and `$` match at each line.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
        return value


@register_evaluator("regex")
class Regex(Evaluator[RegexParams]):
    """The output matches a regular expression."""

    Params = RegexParams

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        p = self.params
        patterns = [p.pattern] if p.pattern else [str(t) for t in sample.targets]
        if not patterns:
            return _missing_target(sample, self.name)
        flags = (re.IGNORECASE if p.ignore_case else 0) | (re.MULTILINE if p.multiline else 0)
        text = output_text(output.output)
        for pattern in patterns:
            try:
                compiled = re.compile(pattern, flags)
            except re.error as exc:
                return Score.failure(f"target {pattern!r} is not a valid pattern: {exc}")
            match = compiled.fullmatch(text) if p.fullmatch else compiled.search(text)
            if match:
                return Score.verdict(True, f"matched {match.group(0)[:60]!r}")
        return Score.verdict(False, f"no match for {patterns[0]!r}")


@register_evaluator("json_valid")
class JsonValid(Evaluator[EvaluatorParams]):
    """The output is valid JSON (a ```json fence around it is allowed)."""

    Params = EvaluatorParams

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        try:
            value = parse_json_output(output.output)
        except ValueError as exc:
            return Score.verdict(False, str(exc))
        return Score.verdict(True, f"valid JSON {type(value).__name__}")


class SchemaParams(EvaluatorParams):
    schema_: dict[str, Any] | None = Field(None, alias="schema",
                                           description="The JSON Schema, inline.")
    schema_file: str | None = Field(None, description="A JSON or YAML schema file, relative "
                                                      "to the suite file.")

    @model_validator(mode="after")
    def _one(self) -> SchemaParams:
        if (self.schema_ is None) == (self.schema_file is None):
            raise ValueError("give exactly one of `schema` or `schema_file`")
        if self.schema_ is not None:
            try:
                jsonschema.validators.validator_for(self.schema_).check_schema(self.schema_)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"not a valid JSON Schema: {exc.message}") from exc
        return self


@register_evaluator("json_schema")
class JsonSchema(Evaluator[SchemaParams]):
    """The output is JSON that conforms to a JSON Schema (checked with `jsonschema`)."""

    Params = SchemaParams

    def __init__(self, params: SchemaParams, ctx: EvaluatorContext):
        super().__init__(params, ctx)
        schema = params.schema_ if params.schema_ is not None else self._load(params, ctx)
        cls = jsonschema.validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ConfigError(f"json_schema: {params.schema_file}: not a valid JSON Schema: "
                              f"{exc.message}") from exc
        self.validator = cls(schema)

    @staticmethod
    def _load(params: SchemaParams, ctx: EvaluatorContext) -> dict[str, Any]:
        path = ctx.base_dir / Path(str(params.schema_file))
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"json_schema: cannot read schema_file {path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"json_schema: {path} must hold a JSON Schema object")
        return loaded

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        try:
            value = parse_json_output(output.output)
        except ValueError as exc:
            return Score.verdict(False, str(exc))
        errors = sorted(self.validator.iter_errors(value), key=lambda e: list(e.path))
        if not errors:
            return Score.verdict(True, "conforms to the schema")
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(root)"
        return Score.verdict(False, f"{len(errors)} schema error(s); {where}: {first.message}")


class NumericParams(EvaluatorParams):
    abs_tol: float = Field(1e-6, ge=0, description="Absolute tolerance.")
    rel_tol: float = Field(0.0, ge=0, description="Relative tolerance (0.01 = 1%).")
    extract: Literal["whole", "first", "last"] = Field(
        "last", description="Which number of a text output to compare: the whole text, the "
                            "first or the last number in it.")


def _number(value: Any, extract: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = output_text(value).strip()
    if extract == "whole":
        return float(text.replace(",", ""))
    found = _NUMBER.findall(text)
    if not found:
        raise ValueError(f"no number in {text[:60]!r}")
    return float((found[0] if extract == "first" else found[-1]).replace(",", ""))


@register_evaluator("numeric")
class Numeric(Evaluator[NumericParams]):
    """The output's number is within a tolerance of the target number."""

    Params = NumericParams

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        p = self.params
        if not sample.targets:
            return _missing_target(sample, self.name)
        try:
            want = _number(sample.targets[0], "whole")
        except ValueError:
            return Score.failure(f"target {sample.targets[0]!r} of sample {sample.id!r} is "
                                 "not a number")
        try:
            got = _number(output.output, p.extract)
        except ValueError as exc:
            return Score.verdict(False, str(exc))
        ok = math.isclose(got, want, rel_tol=p.rel_tol, abs_tol=p.abs_tol)
        return Score.verdict(ok, f"{got:g} vs {want:g} (|diff| {abs(got - want):.3g})")
