"""Evaluation datasets: samples read from JSON Lines, JSON, YAML or CSV files.

A row follows either the OpenAI Evals format (`input` as a string or a list of chat messages,
`ideal` as the expected answer) or the Inspect AI format (`input`, `target`), with optional
`id`, `metadata` and `tags`; an `input` may also be an object (the arguments of an action).
Other keys (Inspect's `choices`, `files`, ...) are kept in the sample's metadata. Every
malformed row is reported with its file, line and field, all at once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from aios.errors import DatasetError, Issue
from aios.llm.types import Message

__all__ = ["Dataset", "Sample", "load_dataset", "read_yaml", "sample_to_row", "write_jsonl"]

_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant",
          "tool": "tool"}
_KNOWN = {"id", "input", "target", "ideal", "metadata", "tags"}


@dataclass(frozen=True)
class Sample:
    """One evaluation case.

    Attributes:
        id: unique within its dataset (the row number when the file gives none).
        input: the prompt text, a conversation of chat messages, or an object (the
            arguments an `action` or `callable` target receives).
        target: the expected answer (`target` or `ideal` in the file): a string, a list of
            acceptable strings, a number, an object, or None when evaluators need none.
        metadata: free-form data for targets and evaluators (e.g. `trajectory`).
        tags: labels the summary groups accuracy by.
    """

    id: str
    input: str | tuple[Message, ...] | Mapping[str, Any]
    target: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    @property
    def targets(self) -> tuple[Any, ...]:
        """The acceptable answers as a tuple (empty when the sample has no target)."""
        if self.target is None:
            return ()
        if isinstance(self.target, list | tuple):
            return tuple(self.target)
        return (self.target,)

    @property
    def input_text(self) -> str:
        """The input as plain text: the prompt, the last user message of a conversation, or
        an object as JSON."""
        if isinstance(self.input, str):
            return self.input
        if isinstance(self.input, Mapping):
            return json.dumps(self.input, sort_keys=True, default=str)
        users = [m.content for m in self.input if m.role == "user"]
        return users[-1] if users else "\n".join(m.content for m in self.input)

    def input_json(self) -> Any:
        """The input as JSON-ready data (a string, an object, or a list of {role, content})."""
        if isinstance(self.input, str):
            return self.input
        if isinstance(self.input, Mapping):
            return dict(self.input)
        return [{"role": m.role, "content": m.content} for m in self.input]


@dataclass(frozen=True)
class Dataset:
    """The samples of one file, in file order.

    Attributes:
        path: the file they were read from.
        samples: the samples.
        digest: a hash of the file's bytes, so a resumed run can tell the file changed.
    """

    path: str
    samples: tuple[Sample, ...]
    digest: str

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)


@dataclass
class _Row:
    data: Any
    line: int | None
    lines: dict[str, int] = field(default_factory=dict)  # key -> line, when the format says


def _messages(value: list[Any], issue: Callable[[str, str], None]) -> tuple[Message, ...]:
    out: list[Message] = []
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(item, Mapping):
            issue(where, "each chat message must be an object {role, content}")
            continue
        role = _ROLES.get(str(item.get("role", "")))
        if role is None:
            issue(f"{where}.role", f"role {item.get('role')!r} is not one of "
                                   f"{', '.join(sorted(_ROLES))}")
            continue
        content = item.get("content")
        if isinstance(content, list):  # OpenAI content parts: keep the text parts
            content = "".join(str(p.get("text", "")) for p in content
                              if isinstance(p, Mapping) and p.get("type") == "text")
        if not isinstance(content, str):
            issue(f"{where}.content", "content must be a string (or a list of text parts)")
            continue
        out.append(Message(cast(Any, role), content, name=item.get("name")))
    if not out and not value:
        issue("input", "the conversation is empty; give at least one message")
    return tuple(out)


def _tags(value: Any, issue: Callable[[str, str], None]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.replace(";", ",").split(",") if t.strip())
    if isinstance(value, list) and all(isinstance(t, str | int) for t in value):
        return tuple(str(t) for t in value)
    issue("tags", "tags must be a list of strings (or a comma-separated string)")
    return ()


def _sample(row: _Row, index: int, file: str, issues: list[Issue]) -> Sample | None:
    before = len(issues)

    def issue(path: str, message: str) -> None:
        key = path.split("[")[0].split(".")[0]
        issues.append(Issue(message, path=path, file=file, line=row.lines.get(key, row.line)))

    data = row.data
    if not isinstance(data, Mapping):
        issues.append(Issue(f"a sample must be an object with an `input`, got "
                            f"{type(data).__name__}", file=file, line=row.line))
        return None
    raw_input = data.get("input")
    sample_input: str | tuple[Message, ...] | Mapping[str, Any] = ""
    if raw_input is None:
        issue("input", "missing `input` (the prompt: a string or a list of chat messages)")
    elif isinstance(raw_input, str):
        if not raw_input.strip():
            issue("input", "`input` is empty; give the prompt text")
        sample_input = raw_input
    elif isinstance(raw_input, list):
        sample_input = _messages(raw_input, issue)
    elif isinstance(raw_input, Mapping):
        sample_input = dict(raw_input)
    else:
        issue("input", f"`input` must be a string, a list of chat messages or an object, got "
                       f"{type(raw_input).__name__}")
    if "target" in data and "ideal" in data:
        issue("ideal", "give `target` (Inspect AI) or `ideal` (OpenAI Evals), not both")
    target = data.get("target", data.get("ideal"))
    raw_id = data.get("id", index + 1)
    if not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or str(raw_id) == "":
        issue("id", "`id` must be a non-empty string or an integer")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        issue("metadata", "`metadata` must be an object")
        metadata = {}
    extra = {k: v for k, v in data.items() if k not in _KNOWN}
    tags = _tags(data.get("tags"), issue)
    if len(issues) > before:
        return None
    return Sample(id=str(raw_id), input=sample_input, target=target,
                  metadata={**extra, **metadata}, tags=tags)


def _parse_rows(rows: list[_Row], file: str) -> tuple[Sample, ...]:
    """Samples from parsed rows; every problem of every row is reported together.

    Raises:
        DatasetError: one Issue per malformed field, each with file and line.
    """
    issues: list[Issue] = []
    samples: list[Sample] = []
    first_line: dict[str, int | None] = {}
    for index, row in enumerate(rows):
        sample = _sample(row, index, file, issues)
        if sample is None:
            continue
        if sample.id in first_line:
            issues.append(Issue(
                f"duplicate sample id {sample.id!r} (first on line {first_line[sample.id]}); "
                "ids must be unique", path="id", file=file, line=row.lines.get("id", row.line)))
            continue
        first_line[sample.id] = row.line
        samples.append(sample)
    if issues:
        raise DatasetError(issues)
    if not samples:
        raise DatasetError([Issue("the dataset has no samples", file=file)])
    return tuple(samples)


def _jsonl_rows(text: str, file: str) -> list[_Row]:
    rows: list[_Row] = []
    issues: list[Issue] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            rows.append(_Row(json.loads(raw), number))
        except json.JSONDecodeError as exc:
            issues.append(Issue(f"not valid JSON: {exc.msg} (column {exc.colno}); each line "
                                "must be one JSON object", file=file, line=number))
    if issues:
        raise DatasetError(issues)
    return rows


def _document_rows(data: Any, node: yaml.Node | None, file: str) -> list[_Row]:
    items_node: yaml.Node | None = node
    if isinstance(data, Mapping) and "samples" in data:
        data = data["samples"]
        if isinstance(node, yaml.MappingNode):
            items_node = next((v for k, v in node.value if k.value == "samples"), None)
    if not isinstance(data, list):
        raise DatasetError([Issue("the file must hold a list of samples (or an object with "
                                  "a `samples` list)", file=file, line=1)])
    nodes = items_node.value if isinstance(items_node, yaml.SequenceNode) else []
    rows: list[_Row] = []
    for index, item in enumerate(data):
        item_node = nodes[index] if index < len(nodes) else None
        line = item_node.start_mark.line + 1 if item_node is not None else None
        lines = ({str(k.value): k.start_mark.line + 1 for k, _ in item_node.value}
                 if isinstance(item_node, yaml.MappingNode) else {})
        rows.append(_Row(item, line, lines))
    return rows


def read_yaml(text: str, file: str) -> tuple[Any, yaml.Node | None]:
    """The data of a YAML document and its node tree (for line numbers).

    Raises:
        DatasetError: a syntax error, at its line of `file`.
    """
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise DatasetError([Issue(f"YAML syntax error: {exc.problem or exc}", file=file,
                                  line=mark.line + 1 if mark else None)]) from exc


def _yaml_rows(text: str, file: str) -> list[_Row]:
    data, node = read_yaml(text, file)
    return _document_rows(data, node, file)


def _json_rows(text: str, file: str) -> list[_Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError([Issue(f"JSON syntax error: {exc.msg} (column {exc.colno})",
                                  file=file, line=exc.lineno)]) from exc
    try:  # JSON is YAML as far as positions go; json.loads keeps none
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        node = None
    return _document_rows(data, node, file)


def _csv_cell(key: str, value: str) -> Any:
    if key in ("input", "metadata") and value.lstrip().startswith(("[", "{")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _csv_rows(text: str, file: str) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "input" not in reader.fieldnames:
        raise DatasetError([Issue("the CSV header must have an `input` column (and usually "
                                  "`target` or `ideal`, `id`, `tags`, `metadata`)",
                                  file=file, line=1)])
    rows: list[_Row] = []
    line = reader.line_num
    for record in reader:
        start = line + 1
        line = reader.line_num
        data = {k: _csv_cell(k, v) for k, v in record.items()
                if k is not None and v not in (None, "")}
        metadata = data.get("metadata")
        if isinstance(metadata, str):
            data["metadata"] = {"metadata": metadata}
        rows.append(_Row(data, start))
    return rows


_READERS: dict[str, Callable[[str, str], list[_Row]]] = {
    ".jsonl": _jsonl_rows,
    ".ndjson": _jsonl_rows,
    ".json": _json_rows,
    ".yaml": _yaml_rows,
    ".yml": _yaml_rows,
    ".csv": _csv_rows,
}


def load_dataset(path: Path | str) -> Dataset:
    """Read a dataset file by its extension (.jsonl, .json, .yaml/.yml, .csv).

    Raises:
        DatasetError: the file is missing, unreadable, or has malformed rows (each named
            by file, line and field).
    """
    path = Path(path)
    file = str(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise DatasetError([Issue(
            f"unknown dataset format {path.suffix or '(no extension)'!r}; use one of "
            f"{', '.join(sorted(_READERS))}", file=file)])
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise DatasetError([Issue("dataset file not found; check `dataset:` in the suite "
                                  "(relative paths start at the suite file)", file=file)]
                           ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError([Issue(f"cannot read the dataset: {exc}", file=file)]) from exc
    samples = _parse_rows(reader(text, file), file)
    return Dataset(path=file, samples=samples, digest=hashlib.sha256(raw).hexdigest()[:32])


def sample_to_row(sample: Sample) -> dict[str, Any]:
    """A sample as an Inspect-style JSON row (`id`, `input`, `target`, `metadata`, `tags`)."""
    row: dict[str, Any] = {"id": sample.id, "input": sample.input_json()}
    if sample.target is not None:
        row["target"] = sample.target
    if sample.metadata:
        row["metadata"] = dict(sample.metadata)
    if sample.tags:
        row["tags"] = list(sample.tags)
    return row


def write_jsonl(samples: list[Sample] | tuple[Sample, ...], path: Path | str) -> int:
    """Write samples as JSON Lines (one `sample_to_row` per line); returns how many."""
    with Path(path).open("w", encoding="utf-8") as out:
        for sample in samples:
            out.write(json.dumps(sample_to_row(sample), default=str, ensure_ascii=False) + "\n")
    return len(samples)
