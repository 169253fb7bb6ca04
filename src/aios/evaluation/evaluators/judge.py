"""LLM-as-judge: a rubric score with a reason, and pairwise comparison in both orders.

The judge model is called through the gateway. Its reply is asked for as JSON and parsed
leniently (code fences, prose around the object, `score: 4` lines); a reply that still does
not parse is retried with a correction, then recorded as an error, never as a pass.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import Field, model_validator

from aios.errors import ConfigError, InvalidOutput
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
from aios.llm.types import LLMRequest, Message

__all__ = ["JudgeParseError", "extract_json_object", "parse_pairwise_reply",
           "parse_rubric_reply"]

T = TypeVar("T")
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_SCORE = re.compile(r"""["']?\b(?:score|rating|grade)\b["']?\s*[:=]\s*["']?(-?\d+(?:\.\d+)?)""",
                    re.IGNORECASE)
_REASON = re.compile(r"""["']?\b(?:reason|explanation|rationale)\b["']?\s*[:=]\s*["']?"""
                     r"""([^"'\n}]+)""", re.IGNORECASE)
_WINNER = re.compile(r"""["']?\b(?:winner|better|verdict)\b["']?\s*[:=]\s*["']?"""
                     r"""(response\s*)?(a|b|tie|equal|draw)\b""", re.IGNORECASE)


class JudgeParseError(ValueError):
    """The judge's reply holds no usable verdict."""


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text`: the whole text, a fenced block, or embedded in prose."""
    candidates = [text.strip(), *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _field(obj: Mapping[str, Any], names: Sequence[str]) -> Any:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    return next((lowered[n] for n in names if n in lowered), None)


def parse_rubric_reply(text: str, low: float, high: float) -> tuple[float, str]:
    """The (score, reason) in a judge reply; the score must lie in [low, high].

    Raises:
        JudgeParseError: no score, or one outside the scale.
    """
    obj = extract_json_object(text)
    raw: Any = _field(obj, ("score", "rating", "grade")) if obj else None
    reason: Any = _field(obj, ("reason", "explanation", "rationale")) if obj else None
    if raw is None:
        match = _SCORE.search(text)
        raw = match.group(1) if match else None
        found = _REASON.search(text)
        reason = found.group(1).strip() if found else reason
    if isinstance(raw, str):  # "4", "4/5"
        raw = raw.split("/")[0].strip()
    try:
        score = float(raw) if raw is not None and not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        score = None
    if score is None:
        raise JudgeParseError(f"no score in the reply {text[:120]!r}")
    if not low <= score <= high:
        raise JudgeParseError(f"score {score:g} is outside the scale {low:g}..{high:g}")
    return score, str(reason or "").strip()


def parse_pairwise_reply(text: str) -> tuple[str, str]:
    """The (winner, reason) in a pairwise reply; winner is `A`, `B` or `tie`.

    Raises:
        JudgeParseError: no recognisable winner.
    """
    obj = extract_json_object(text)
    raw = _field(obj, ("winner", "better", "verdict")) if obj else None
    reason = _field(obj, ("reason", "explanation", "rationale")) if obj else None
    if raw is None:
        match = _WINNER.search(text)
        raw = match.group(2) if match else None
    word = re.sub(r"^(response|answer)\s*", "", str(raw or "").strip().lower())
    winner = {"a": "A", "b": "B", "tie": "tie", "equal": "tie", "draw": "tie"}.get(word)
    if winner is None:
        raise JudgeParseError(f"no winner (A, B or tie) in the reply {text[:120]!r}")
    return winner, str(reason or "").strip()


class _JudgeBase(EvaluatorParams):
    model: str | None = Field(None, description="The judge model (default: the suite's "
                                                "`judge`, else the router's choice).")
    retries: int = Field(2, ge=0, le=10, description="Retries of a reply that does not parse.")
    temperature: float = Field(0.0, ge=0, description="Judge sampling temperature.")
    max_tokens: int = Field(256, ge=16, description="Cap on the judge's reply.")
    json_mode: bool = Field(True, description="Ask the gateway for JSON output.")


class _Judge(Evaluator[Any]):
    """Shared plumbing: ask the judge, parse, retry with a correction, then give up."""

    def __init__(self, params: Any, ctx: EvaluatorContext):
        super().__init__(params, ctx)
        if ctx.gateway is None:
            raise ConfigError(f"evaluator {self.name} needs the model gateway for its judge; "
                              "run through `aios eval run` or pass gateway= to the Harness")
        self.model = params.model or ctx.judge_model

    async def _ask(self, system: str, prompt: str, schema: Mapping[str, Any],
                   parse: Callable[[str], T]) -> tuple[T | None, list[str]]:
        messages = [Message("system", system), Message("user", prompt)]
        replies: list[str] = []
        for _ in range(self.params.retries + 1):
            request = LLMRequest(messages=tuple(messages), model=self.model,
                                 temperature=self.params.temperature,
                                 max_tokens=self.params.max_tokens,
                                 response_format=schema if self.params.json_mode else None,
                                 cache=False, agent="eval", action=f"judge.{self.name}")
            try:
                text = (await self.ctx.gateway.complete(request)).text
            except InvalidOutput as exc:  # the gateway already found the reply is not JSON
                replies.append(str(exc))
                messages.append(Message("user", f"Your reply was rejected ({exc}). Reply "
                                                "with only the JSON object, nothing else."))
                continue
            replies.append(text)
            try:
                return parse(text), replies
            except JudgeParseError as exc:
                # Show the judge its own reply and what was wrong: a retry of the identical
                # prompt at temperature 0 would only repeat it.
                messages += [Message("assistant", text),
                             Message("user", f"That reply could not be used ({exc}). Reply "
                                             "with only the JSON object, nothing else.")]
        return None, replies


def _question(sample: Sample) -> str:
    if isinstance(sample.input, tuple):
        return "\n".join(f"{m.role}: {m.content}" for m in sample.input)
    return sample.input_text


class RubricParams(_JudgeBase):
    rubric: str = Field(description="What a good answer does, in words the judge can apply.")
    min_score: int = Field(1, description="Lowest score of the scale.")
    max_score: int = Field(5, description="Highest score of the scale.")
    pass_score: float | None = Field(None, description="Mean score needed to pass "
                                                       "(default: the scale's midpoint).")
    repeats: int = Field(1, ge=1, le=20, description="Judge this many times; the spread "
                                                     "is reported.")
    include_target: bool = Field(True, description="Show the judge the reference answer.")

    @model_validator(mode="after")
    def _scale(self) -> RubricParams:
        if self.min_score >= self.max_score:
            raise ValueError("min_score must be below max_score")
        return self


_RUBRIC_SYSTEM = (
    "You are a strict, impartial evaluator. Grade the RESPONSE using the RUBRIC. Reply with "
    'only a JSON object: {{"score": <integer {lo} to {hi}>, "reason": "<one sentence>"}}')


@register_evaluator("llm_judge")
class RubricJudge(_Judge):
    """A judge model scores the output on a rubric (with a reason); optional repeats."""

    Params = RubricParams

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        p: RubricParams = self.params
        parts = [f"RUBRIC:\n{p.rubric}", f"QUESTION:\n{_question(sample)}"]
        if p.include_target and sample.targets:
            parts.append("REFERENCE ANSWER:\n" + "\n".join(output_text(t)
                                                           for t in sample.targets))
        parts.append(f"RESPONSE:\n{output_text(output.output)}")
        schema = {"type": "object", "required": ["score", "reason"],
                  "properties": {"score": {"type": "integer", "minimum": p.min_score,
                                           "maximum": p.max_score},
                                 "reason": {"type": "string"}}}

        def parse(text: str) -> tuple[float, str]:
            return parse_rubric_reply(text, p.min_score, p.max_score)

        system = _RUBRIC_SYSTEM.format(lo=p.min_score, hi=p.max_score)
        runs = await asyncio.gather(*(self._ask(system, "\n\n".join(parts), schema, parse)
                                      for _ in range(p.repeats)))
        failed = [replies for verdict, replies in runs if verdict is None]
        if failed:
            return Score.failure(
                f"judge reply did not parse after {p.retries + 1} attempt(s) "
                f"({len(failed)} of {p.repeats} judgement(s)); last reply: "
                f"{failed[0][-1][:160]!r}", replies=failed[0])
        scores = [verdict[0] for verdict, _ in runs if verdict is not None]
        reasons = [verdict[1] for verdict, _ in runs if verdict is not None]
        mean = statistics.fmean(scores)
        threshold = p.pass_score if p.pass_score is not None else (p.min_score
                                                                   + p.max_score) / 2
        spread = {"scores": scores, "stdev": statistics.stdev(scores) if len(scores) > 1
                  else 0.0, "min": min(scores), "max": max(scores)}
        return Score.verdict(mean >= threshold, reasons[0],
                             value=(mean - p.min_score) / (p.max_score - p.min_score),
                             mean_score=mean, **spread)


class PairwiseParams(_JudgeBase):
    criteria: str = Field("Which response answers the question better: more correct, "
                          "complete and helpful?", description="What `better` means.")
    reference_key: str | None = Field(None, description="Compare with this metadata key "
                                                        "(default: the sample's target).")
    pass_on: Literal["win", "win_or_tie"] = Field(
        "win_or_tie", description="Pass when the output wins, or when it is not worse.")


_PAIRWISE_SYSTEM = (
    "You are a strict, impartial evaluator comparing two responses to the same question. "
    'Reply with only a JSON object: {"winner": "A" | "B" | "tie", "reason": "<one sentence>"}')
# What the output scores in each order when the judge names a winner: it is A, then B.
_AS_A = {"A": 1.0, "B": 0.0, "tie": 0.5}
_AS_B = {"A": 0.0, "B": 1.0, "tie": 0.5}


@register_evaluator("pairwise")
class PairwiseJudge(_Judge):
    """A judge compares the output with a reference, in both orders to cancel position bias.

    Scores: 1 when the output wins both orders, 0 when it loses both, 0.5 for a tie or when
    the verdict flips with the order (the judge preferred a position, not an answer).
    """

    Params = PairwiseParams

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        p: PairwiseParams = self.params
        reference = (sample.metadata.get(p.reference_key) if p.reference_key
                     else (sample.targets[0] if sample.targets else None))
        if reference is None:
            return Score.failure(f"sample {sample.id!r} has no reference to compare with "
                                 f"({p.reference_key or 'target'})")
        candidate = output_text(output.output)
        schema = {"type": "object", "required": ["winner", "reason"],
                  "properties": {"winner": {"enum": ["A", "B", "tie"]},
                                 "reason": {"type": "string"}}}

        def prompt(first: str, second: str) -> str:
            return (f"CRITERIA:\n{p.criteria}\n\nQUESTION:\n{_question(sample)}\n\n"
                    f"RESPONSE A:\n{first}\n\nRESPONSE B:\n{second}")

        (ab, ab_replies), (ba, ba_replies) = await asyncio.gather(
            self._ask(_PAIRWISE_SYSTEM, prompt(candidate, output_text(reference)), schema,
                      parse_pairwise_reply),
            self._ask(_PAIRWISE_SYSTEM, prompt(output_text(reference), candidate), schema,
                      parse_pairwise_reply))
        if ab is None or ba is None:
            replies = ab_replies if ab is None else ba_replies
            return Score.failure(f"judge reply did not parse after {p.retries + 1} "
                                 f"attempt(s); last reply: {replies[-1][:160]!r}",
                                 replies=replies)
        first, second = _AS_A[ab[0]], _AS_B[ba[0]]
        value = (first + second) / 2
        passed = value > 0.5 if p.pass_on == "win" else value >= 0.5
        return Score.verdict(passed, ab[1] or ba[1], value=value,
                             output_first=ab[0], reference_first=ba[0],
                             consistent=first == second,
                             position_bias=ab[0] == ba[0] and ab[0] != "tie")
