"""Suite files: validation with file:line, evaluator and target names checked up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from aios.errors import ConfigError, DatasetError
from aios.evaluation import EVALUATORS, build_evaluator, load_suite

EXAMPLES = Path(__file__).parents[2] / "examples" / "eval"


def _suite(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


def test_example_suites_load() -> None:
    suite = load_suite(EXAMPLES / "suite.yaml")
    assert suite.name == "basics-local" and suite.target["type"] == "model"
    assert [e.label for e in suite.evaluators] == ["answer", "brief"]
    assert suite.dataset_path == EXAMPLES / "dataset.jsonl"
    actions = load_suite(EXAMPLES / "actions_suite.yaml")
    assert actions.target == {"type": "action", "action": "kernel.processes"}


def test_unknown_evaluator_lists_the_known_ones_with_its_line(tmp_path: Path) -> None:
    path = _suite(tmp_path, "name: x\ndataset: d.jsonl\ntarget: mod:fn\nevaluators:\n"
                            "  - exact_match\n  - name: exactish\n")
    with pytest.raises(DatasetError) as info:
        load_suite(path)
    (issue,) = info.value.issues
    assert issue.line == 6 and issue.path == "evaluators[1].name"
    assert "unknown evaluator 'exactish'; known: " in issue.message
    for name in ("contains", "exact_match", "json_schema", "llm_judge", "pairwise",
                 "trajectory"):
        assert name in issue.message


def test_unknown_evaluator_through_the_api_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        build_evaluator("nope")
    assert ", ".join(sorted(EVALUATORS)) in str(info.value)


def test_bad_parameters_and_fields_are_reported_together(tmp_path: Path) -> None:
    path = _suite(tmp_path, """name: x
dataset: d.jsonl
target: {type: callable, ref: m:f, colour: red}
evaluators:
  - name: exact_match
    params:
      normalize: [case, shouting]
  - name: regex
    params: {pattern: "(unclosed"}
concurrency: 0
""")
    with pytest.raises(DatasetError) as info:
        load_suite(path)
    where = {(i.path, i.line) for i in info.value.issues}
    assert ("concurrency", 10) in where
    assert len(info.value.issues) == 1  # field errors first: the rest is checked once valid
    path.write_text(path.read_text().replace("concurrency: 0\n", ""))
    with pytest.raises(DatasetError) as info:
        load_suite(path)
    where = {(i.path, i.line) for i in info.value.issues}
    assert ("target.colour", 3) in where
    assert ("evaluators[0].params.normalize[1]", 7) in where
    assert ("evaluators[1].params.pattern", 9) in where


def test_unknown_target_type_and_duplicate_labels(tmp_path: Path) -> None:
    path = _suite(tmp_path, "name: x\ndataset: d.jsonl\ntarget: {type: magic}\n"
                            "evaluators: [contains, contains]\n")
    with pytest.raises(DatasetError) as info:
        load_suite(path)
    messages = [i.message for i in info.value.issues]
    (unknown,) = [m for m in messages if "unknown target type 'magic'; known: " in m]
    assert all(kind in unknown for kind in ("action", "callable", "http", "model"))
    assert any("two evaluators are labelled 'contains'" in m for m in messages)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        load_suite(_suite(tmp_path, "name: x\ndataset: [unclosed\n"))
    assert info.value.issues[0].line is not None
