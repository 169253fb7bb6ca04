"""Datasets: the OpenAI Evals and Inspect AI sample formats in JSONL, JSON, YAML and CSV, and
malformed rows reported with file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aios.errors import DatasetError
from aios.evaluation import load_dataset, write_jsonl
from aios.evaluation.datasets import sample_to_row
from aios.llm.types import Message

EXAMPLES = Path(__file__).parents[2] / "examples" / "eval"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_reads_openai_evals_and_inspect_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", "\n".join([
        json.dumps({"input": [{"role": "system", "content": "Be brief."},
                              {"role": "user", "content": "2+2?"}], "ideal": "4"}),
        "",
        json.dumps({"id": "cap", "input": "Capital of France?", "target": ["Paris", "paris"],
                    "metadata": {"level": 1}, "tags": ["geo"], "choices": ["a", "b"]}),
        json.dumps({"id": 7, "input": "x", "tags": "a, b;c"}),
    ]))
    data = load_dataset(path)
    first, second, third = data.samples
    assert first.id == "1"  # the row number when the file gives none
    assert first.input == (Message("system", "Be brief."), Message("user", "2+2?"))
    assert first.target == "4" and first.input_text == "2+2?"
    assert second.id == "cap" and second.targets == ("Paris", "paris")
    assert second.metadata == {"level": 1, "choices": ["a", "b"]}  # unknown keys kept
    assert second.tags == ("geo",)
    assert third.id == "7" and third.tags == ("a", "b", "c") and third.target is None
    assert len(data.digest) == 32


def test_json_yaml_and_csv_give_the_same_samples(tmp_path: Path) -> None:
    rows = [{"id": "a", "input": "hello", "target": "world", "tags": ["x"]},
            {"id": "b", "input": "foo", "target": "bar", "metadata": {"k": 1}}]
    as_json = load_dataset(_write(tmp_path / "d.json", json.dumps({"samples": rows})))
    as_yaml = load_dataset(_write(tmp_path / "d.yaml", """
- id: a
  input: hello
  target: world
  tags: [x]
- id: b
  input: foo
  target: bar
  metadata: {k: 1}
"""))
    as_csv = load_dataset(_write(tmp_path / "d.csv",
                                 'id,input,target,tags,metadata\na,hello,world,x,\n'
                                 'b,foo,bar,,"{""k"": 1}"\n'))
    assert as_json.samples == as_yaml.samples == as_csv.samples


def test_malformed_jsonl_rows_name_file_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", "\n".join([
        json.dumps({"id": "ok", "input": "fine"}),
        json.dumps({"id": "no-input", "target": "x"}),
        json.dumps({"id": "role", "input": [{"role": "robot", "content": "hi"}]}),
        json.dumps({"id": "both", "input": "q", "target": "a", "ideal": "b"}),
        json.dumps({"id": "ok", "input": "dup"}),
        json.dumps({"id": "tags", "input": "q", "tags": {"a": 1}}),
    ]))
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    found = {(i.line, i.path) for i in info.value.issues}
    assert found == {(2, "input"), (3, "input[0].role"), (4, "ideal"), (5, "id"), (6, "tags")}
    text = str(info.value)
    assert f"{path}:2 [input]: missing `input`" in text
    assert "role 'robot' is not one of" in text
    assert "duplicate sample id 'ok' (first on line 1)" in text


def test_invalid_json_line_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", '{"input": "a"}\n{"input": "b",,}\n')
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    (issue,) = info.value.issues
    assert issue.line == 2 and issue.file == str(path) and "not valid JSON" in issue.message


def test_yaml_row_errors_point_at_the_field_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.yaml", "- input: fine\n- input: q\n  metadata: [1, 2]\n")
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    (issue,) = info.value.issues
    assert (issue.line, issue.path) == (3, "metadata")


def test_csv_row_errors_count_physical_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.csv",
                  'id,input,target\na,"multi\nline",x\nb,,y\n')
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    (issue,) = info.value.issues
    assert (issue.line, issue.path) == (4, "input")


def test_unknown_format_and_missing_file_are_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"unknown dataset format '\.txt'"):
        load_dataset(_write(tmp_path / "d.txt", "x"))
    with pytest.raises(DatasetError, match="dataset file not found"):
        load_dataset(tmp_path / "missing.jsonl")


def test_rows_round_trip_through_jsonl(tmp_path: Path) -> None:
    data = load_dataset(EXAMPLES / "dataset.jsonl")
    assert len(data) == 20
    out = tmp_path / "copy.jsonl"
    write_jsonl(data.samples, out)
    again = load_dataset(out)
    assert again.samples == data.samples
    assert sample_to_row(data.samples[4])["input"][0]["role"] == "system"
