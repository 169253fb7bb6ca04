"""Evaluators by registered name: code checks, trajectory checks, similarity, LLM judges.

Importing this package registers the built-in evaluators; a suite names them in
`evaluators:` with their parameters. Add one with `@register_evaluator("name")`.
"""

from aios.evaluation.evaluators import code, judge, similarity, trajectory
from aios.evaluation.evaluators.base import (
    EVALUATORS,
    Evaluator,
    EvaluatorContext,
    EvaluatorParams,
    Score,
    build_evaluator,
    evaluator_param_errors,
    output_text,
    register_evaluator,
)
from aios.evaluation.evaluators.code import normalize_text, parse_json_output
from aios.evaluation.evaluators.judge import (
    JudgeParseError,
    extract_json_object,
    parse_pairwise_reply,
    parse_rubric_reply,
)
from aios.evaluation.evaluators.similarity import cosine_similarity
from aios.evaluation.evaluators.trajectory import match_trajectory

__all__ = [
    "EVALUATORS",
    "Evaluator",
    "EvaluatorContext",
    "EvaluatorParams",
    "JudgeParseError",
    "Score",
    "build_evaluator",
    "code",
    "cosine_similarity",
    "evaluator_param_errors",
    "extract_json_object",
    "judge",
    "match_trajectory",
    "normalize_text",
    "output_text",
    "parse_json_output",
    "parse_pairwise_reply",
    "parse_rubric_reply",
    "register_evaluator",
    "similarity",
    "trajectory",
]
