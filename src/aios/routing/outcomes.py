"""Routing data: per-prompt outcomes of models, read from CSV files.

Two formats, told apart by their columns:

* **outcome tables** (RouterBench's layout): a `prompt` column and, per model, a score
  column `<model>` (0/1, a fraction, or a grade such as 1-10: scaled to 0-1 by
  `score_max`) and optionally a cost column `<model>|total_cost` (USD);
* **pairwise preferences** (RouteLLM's): a `prompt` column and a `winner` column saying
  which of two models answered better: `strong`, `weak`, `tie` (or the models' names, or
  `model_a`/`model_b` with columns naming them). A row scores 1 for the winner, 0 for the
  loser, 0.5 each on a tie: routing then maximises the share of prompts where the chosen
  model's answer is the preferred (or an equal) one.

Costs come from the row (`<model>|total_cost`) or, when a file has none, from a price
table: USD per million input and output tokens per model (`prices`), with the prompt's
estimated tokens plus the model's answer (`<model>|model_response`, else
`default_output_tokens`).

Every error names the file, the line and the column, and says what would fix it.
"""

from __future__ import annotations

import ast
import csv
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aios.errors import ConfigError
from aios.llm.tokens import estimate_tokens

__all__ = ["RoutingData", "csv_files", "read_routing_data"]

_COST = "|total_cost"
_RESPONSE = "|model_response"
_WINNER = "winner"
_TIE = {"tie", "tie (bothbad)", "both", "draw", "equal"}


@dataclass(frozen=True)
class RoutingData:
    """Per-prompt outcomes: `correct[i, j]` (a score in 0-1) and `cost[i, j]` (USD) of model
    j on prompt i."""

    prompts: list[str]
    models: list[str]
    correct: np.ndarray
    cost: np.ndarray
    dropped: int = 0
    #: The task each prompt comes from (its `eval_name`, else its file's name); may be empty.
    tasks: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.prompts)

    def subset(self, rows: np.ndarray) -> RoutingData:
        """The rows `rows` (indices) of this data."""
        return RoutingData([self.prompts[int(i)] for i in rows], self.models,
                           self.correct[rows], self.cost[rows], 0,
                           tuple(self.tasks[int(i)] for i in rows) if self.tasks else ())


def _prompt_text(raw: str) -> str:
    """RouterBench stores prompts as a Python list literal of turns; join them."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            turns = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return raw
        if isinstance(turns, list) and all(isinstance(t, str) for t in turns):
            return "\n".join(turns)
    return raw


def csv_files(files: Sequence[Path | str], folders: Sequence[Path | str] = ()) -> list[Path]:
    """The CSV files named, then every `*.csv` of each folder (folders only when named as
    folders, so a test file in a training folder is never read by accident).

    Raises:
        ConfigError: a file is missing or is a folder, or a folder has no CSV file.
    """
    out: list[Path] = []
    for entry in map(Path, files):
        if entry.is_dir():
            raise ConfigError(f"{entry} is a folder; name its files, or pass it with "
                              "--folder to read every .csv in it")
        if not entry.is_file():
            raise ConfigError(f"{entry}: no such file")
        out.append(entry)
    for folder in map(Path, folders):
        found = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        if not found:
            raise ConfigError(f"{folder}: not a folder with .csv files")
        out.extend(found)
    if not out:
        raise ConfigError("no routing data: name CSV files (or --folder DIR)")
    return out


@dataclass
class _Rows:
    prompts: list[str]
    tasks: list[str]
    scores: list[list[float]]
    costs: list[list[float]]
    dropped: int = 0


def _add_row(rows: _Rows, file: Path, line: int, row: Mapping[str, str | None],
             models: list[str], scores: list[float], *, has_cost: bool,
             prices: Mapping[str, tuple[float, float]], default_output_tokens: int) -> None:
    """One prompt's row: its text, task, scores and the models' costs (read from the cost
    columns when the file has them, else estimated at `prices`)."""
    prompt = _prompt_text(row.get("prompt") or "")
    if has_cost:
        costs = [_number(file, line, m + _COST, row.get(m + _COST), "a cost in USD")
                 for m in models]
    else:
        costs = _priced(file, line, models, row, prompt, prices, default_output_tokens)
    rows.prompts.append(prompt)
    rows.tasks.append((row.get("eval_name") or "").strip() or file.stem)
    rows.scores.append(scores)
    rows.costs.append(costs)


def _number(file: Path, line: int, column: str, raw: str | None, what: str) -> float:
    try:
        value = float(raw if raw is not None else "")
    except ValueError:
        raise ConfigError(f"{file}:{line}: column {column!r}: {raw!r} is not a number "
                          f"({what})") from None
    if math.isnan(value) or math.isinf(value):
        raise ConfigError(f"{file}:{line}: column {column!r}: {raw!r} is not a finite "
                          f"number ({what})")
    return value


def _priced(file: Path, line: int, models: Sequence[str], row: Mapping[str, str | None],
            prompt: str, prices: Mapping[str, tuple[float, float]],
            default_output_tokens: int) -> list[float]:
    out = []
    tokens_in = estimate_tokens(prompt)
    for model in models:
        if model not in prices:
            raise ConfigError(f"{file}:{line}: no column {model + _COST!r} and no price for "
                              f"{model!r}; add the column or pass --price "
                              f"{model}=INPUT,OUTPUT (USD per million tokens)")
        answer = row.get(model + _RESPONSE)
        tokens_out = estimate_tokens(answer) if answer else default_output_tokens
        price_in, price_out = prices[model]
        out.append((tokens_in * price_in + tokens_out * price_out) / 1e6)
    return out


def _cost_columns(file: Path, header: Sequence[str], models: Sequence[str]) -> bool:
    """Whether the file gives costs per row (all models, or none: then prices)."""
    present = [m + _COST in header for m in models]
    if any(present) and not all(present):
        missing = next(m + _COST for m, there in zip(models, present, strict=True)
                       if not there)
        raise ConfigError(f"{file}:1: column {missing!r} is missing (other models have cost "
                          "columns; give every model one, or none and --price)")
    return all(present)


def _outcome_rows(file: Path, reader: csv.DictReader[str], models: list[str], rows: _Rows,
                  score_max: float | None, prices: Mapping[str, tuple[float, float]],
                  default_output_tokens: int) -> None:
    header = reader.fieldnames or []
    has_cost = _cost_columns(file, header, models)
    for line, row in enumerate(reader, start=2):
        raw = [row.get(m) for m in models]
        if any(v is None or v.strip() == "" for v in raw):
            rows.dropped += 1  # a model without an outcome for this prompt
            continue
        scores = [_number(file, line, m, v, "a score: 0/1, a fraction or a grade")
                  for m, v in zip(models, raw, strict=True)]
        for model, value in zip(models, scores, strict=True):
            if value < 0 or (score_max is None and value > 1):
                raise ConfigError(f"{file}:{line}: column {model!r}: score {value:g} is "
                                  "outside 0-1; for grades pass --score-max (e.g. 10)")
            if score_max is not None and value > score_max:
                raise ConfigError(f"{file}:{line}: column {model!r}: score {value:g} is "
                                  f"above --score-max {score_max:g}")
        graded = [v / score_max if score_max else v for v in scores]
        _add_row(rows, file, line, row, models, graded, has_cost=has_cost, prices=prices,
                 default_output_tokens=default_output_tokens)


def _pairwise_rows(file: Path, reader: csv.DictReader[str], models: list[str], rows: _Rows,
                   prices: Mapping[str, tuple[float, float]],
                   default_output_tokens: int) -> None:
    weak, strong = models
    header = reader.fieldnames or []
    has_cost = _cost_columns(file, header, models)
    for line, row in enumerate(reader, start=2):
        said = (row.get(_WINNER) or "").strip()
        name = said
        if said in ("model_a", "model_b"):
            name = (row.get(said) or "").strip()
        low = name.lower()
        if low in _TIE:
            scores = [0.5, 0.5]
        elif low == "weak" or name == weak:
            scores = [1.0, 0.0]
        elif low == "strong" or name == strong:
            scores = [0.0, 1.0]
        else:
            raise ConfigError(f"{file}:{line}: column 'winner': {said!r} is none of strong, "
                              f"weak, tie, {strong!r} or {weak!r}; name the models with "
                              "--strong and --weak")
        _add_row(rows, file, line, row, models, scores, has_cost=has_cost, prices=prices,
                 default_output_tokens=default_output_tokens)


def read_routing_data(paths: Sequence[Path | str], models: Sequence[str] | None = None, *,
                      folders: Sequence[Path | str] = (), score_max: float | None = None,
                      prices: Mapping[str, tuple[float, float]] | None = None,
                      strong: str = "strong", weak: str = "weak",
                      default_output_tokens: int = 256) -> RoutingData:
    """Read outcome tables or pairwise preference files (see the module docstring).

    Args:
        paths: CSV files.
        models: the model columns of outcome tables (default: every `<model>` with a
            `<model>|total_cost` column in the first file; the other files must have them).
        folders: folders whose every `*.csv` is read too.
        score_max: the top grade of graded scores (None: scores are 0-1).
        prices: model -> (input, output) USD per million tokens, for files without cost
            columns.
        strong, weak: the two models of pairwise files.
        default_output_tokens: answer length assumed for priced rows without a response.

    Raises:
        ConfigError: a file, column or value is wrong; the message names the file, the
            line and the column.
    """
    csv.field_size_limit(sys.maxsize)
    rows = _Rows([], [], [], [])
    chosen = list(models) if models else None
    prices = dict(prices or {})
    if score_max is not None and score_max <= 0:
        raise ConfigError(f"--score-max must be positive, got {score_max}")
    for file in csv_files(paths, folders):
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            if not header:
                raise ConfigError(f"{file}:1: the file is empty; it needs a header line with "
                                  "a 'prompt' column")
            if "prompt" not in header:
                raise ConfigError(f"{file}:1: column 'prompt' is missing (columns: "
                                  f"{', '.join(header[:8])}...)")
            if _WINNER in header:
                if chosen is None:
                    chosen = [weak, strong]
                _pairwise_rows(file, reader, chosen, rows, prices, default_output_tokens)
                continue
            if chosen is None:
                chosen = [h for h in header if "|" not in h and f"{h}{_COST}" in header]
                if len(chosen) < 2:
                    raise ConfigError(f"{file}:1: needs at least two models, each with a "
                                      f"score column `<model>` and a `<model>{_COST}` "
                                      "column (or name them with --models and give "
                                      "--price), or a 'winner' column for pairwise rows")
            for model in chosen:
                if model not in header:
                    raise ConfigError(f"{file}:1: column {model!r} is missing")
            _outcome_rows(file, reader, chosen, rows, score_max, prices,
                          default_output_tokens)
    if chosen is None or not rows.prompts:
        raise ConfigError(f"{', '.join(map(str, paths))}: no usable rows (every row lacks "
                          "an outcome, or the files hold only a header)")
    return RoutingData(rows.prompts, chosen, np.array(rows.scores, dtype=np.float64),
                       np.array(rows.costs, dtype=np.float64), rows.dropped,
                       tuple(rows.tasks))
