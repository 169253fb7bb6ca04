"""Code evaluators and trajectory checks: each option changes the verdict it should."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aios.errors import ConfigError
from aios.evaluation import EvaluatorContext, Sample, Score, TargetOutput, build_evaluator
from aios.evaluation.evaluators import match_trajectory, normalize_text


async def _score(name: str, output: Any, target: Any = None, params: dict[str, Any] | None
                 = None, **sample: Any) -> Score:
    evaluator = build_evaluator(name, params or {}, EvaluatorContext(
        base_dir=sample.pop("base_dir", Path.cwd())))
    out = output if isinstance(output, TargetOutput) else TargetOutput(output=output)
    return await evaluator.score(Sample(id="s", input="q", target=target, **sample), out)


@pytest.mark.parametrize(("options", "output", "target", "passed"), [
    ([], "Paris", "Paris", True),
    ([], "paris", "Paris", False),
    (["case"], "paris", "Paris", True),
    (["case"], "Paris.", "Paris", False),
    (["case", "punctuation"], "Paris.", "Paris", True),
    (["whitespace"], "New   York\n", "New York", True),
    ([], "New   York", "New York", False),
    (["articles", "whitespace"], "The Pacific", "pacific", False),
    (["articles", "whitespace", "case"], "The Pacific", "pacific", True),
])
async def test_exact_match_normalisations(options: list[str], output: str, target: str,
                                          passed: bool) -> None:
    score = await _score("exact_match", output, target, {"normalize": options})
    assert score.passed is passed and score.status == ("passed" if passed else "failed")


async def test_exact_match_accepts_any_of_several_targets() -> None:
    assert (await _score("exact_match", "four", ["4", "four"])).passed


def test_normalize_text_in_squad_order() -> None:
    assert normalize_text("  The Cat, a DOG!  ", ["case", "punctuation", "articles",
                                                  "whitespace"]) == "cat dog"


async def test_missing_target_is_an_error_never_a_pass() -> None:
    score = await _score("exact_match", "x", None)
    assert score.status == "error" and score.passed is None and "has no target" in str(
        score.error)


async def test_contains_any_and_all() -> None:
    assert (await _score("contains", "It is Paris.", ["Lyon", "Paris"])).passed
    assert not (await _score("contains", "It is Paris.", ["Lyon", "Paris"],
                             {"all": True})).passed
    partial = await _score("contains", "red and blue", None,
                           {"value": ["red", "blue", "green"], "all": True})
    assert partial.passed is False and partial.value == pytest.approx(2 / 3)
    assert (await _score("contains", "PARIS", "paris", {"normalize": ["case"]})).passed


async def test_regex_from_params_or_target() -> None:
    assert (await _score("regex", "order #123", None, {"pattern": r"#\d+"})).passed
    assert not (await _score("regex", "order #123", None, {"pattern": r"#\d+",
                                                            "fullmatch": True})).passed
    assert (await _score("regex", "ABC", r"^abc$", {"ignore_case": True})).passed
    with pytest.raises(ConfigError, match="invalid regular expression"):
        build_evaluator("regex", {"pattern": "(oops"})


async def test_json_valid_accepts_a_fence_and_rejects_prose() -> None:
    assert (await _score("json_valid", '```json\n{"a": 1}\n```')).passed
    assert (await _score("json_valid", {"already": "data"})).passed
    bad = await _score("json_valid", "{'a': 1}")
    assert bad.passed is False and "not valid JSON" in bad.reason


async def test_json_schema_inline_and_from_a_file(tmp_path: Path) -> None:
    schema = {"type": "object", "required": ["name"],
              "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    assert (await _score("json_schema", '{"name": "x", "age": 3}', None,
                         {"schema": schema})).passed
    bad = await _score("json_schema", '{"age": "old"}', None, {"schema": schema})
    assert bad.passed is False and "2 schema error(s)" in bad.reason
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    assert (await _score("json_schema", '{"name": "y"}', None,
                         {"schema_file": "schema.json"}, base_dir=tmp_path)).passed
    with pytest.raises(ConfigError, match="not a valid JSON Schema"):
        build_evaluator("json_schema", {"schema": {"type": "nonsense"}})
    with pytest.raises(ConfigError, match="exactly one of"):
        build_evaluator("json_schema", {})


async def test_numeric_tolerance_and_extraction() -> None:
    assert (await _score("numeric", "The answer is 3.14159", "3.1416",
                         {"abs_tol": 1e-3})).passed
    assert not (await _score("numeric", "The answer is 3.2", "3.1416",
                             {"abs_tol": 1e-3})).passed
    assert (await _score("numeric", "about 1,050 units", 1000, {"rel_tol": 0.05})).passed
    assert (await _score("numeric", "2 apples then 7", 2, {"extract": "first"})).passed
    assert not (await _score("numeric", "no digits here", 2)).passed
    assert (await _score("numeric", "5", "five")).status == "error"


@pytest.mark.parametrize(("expected", "actual", "mode", "passed", "fraction"), [
    (["a", "b"], ["a", "b"], "exact", True, 1.0),
    (["a", "b"], ["a", "x", "b"], "exact", False, 1 / 3),
    (["a", "b"], ["a", "x", "b"], "in_order", True, 1.0),
    (["a", "b"], ["b", "a"], "in_order", False, 0.5),
    (["a", "b"], ["b", "a"], "any_order", True, 1.0),
    (["a", "a"], ["a"], "any_order", False, 0.5),
    ([], ["a"], "exact", False, 1.0),
])
def test_match_trajectory(expected: list[str], actual: list[str], mode: Any, passed: bool,
                          fraction: float) -> None:
    assert match_trajectory(expected, actual, mode) == (passed, pytest.approx(fraction))


async def test_trajectory_evaluator_reads_metadata_and_ignores_globs() -> None:
    out = TargetOutput(output=None, trajectory=("kernel.ps", "audit.log", "storage.disks"))
    score = await _score("trajectory", out, None, {"mode": "exact", "ignore": ["audit.*"]},
                         metadata={"trajectory": ["kernel.ps", "storage.disks"]})
    assert score.passed and score.details["actual"] == ["kernel.ps", "storage.disks"]
    missing = await _score("trajectory", TargetOutput(output="x"), ["a"])
    assert missing.status == "error" and "no trajectory" in str(missing.error)


async def test_embedding_similarity_with_the_embedding_service() -> None:
    from aios.embeddings import EmbeddingService

    service = EmbeddingService.open()
    evaluator = build_evaluator("embedding_similarity", {"threshold": 0.5},
                                EvaluatorContext(embedder=service))
    sample = Sample(id="s", input="q", target=["Paris"])
    close = await evaluator.score(sample, TargetOutput(output="The capital is Paris."))
    far = await evaluator.score(sample, TargetOutput(output="Tokyo"))
    assert close.passed and far.passed is False
    assert close.details["similarity"] > far.details["similarity"]
    skipped = await build_evaluator("embedding_similarity").score(
        sample, TargetOutput(output="Paris"))
    assert skipped.status == "skipped" and "no embedding service" in str(skipped.error)
