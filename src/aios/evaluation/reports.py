"""Reports of runs and comparisons: terminal tables (Rich), JSON, HTML, and the CI gate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from aios.evaluation.evaluators import output_text
from aios.evaluation.harness import EvalReport
from aios.evaluation.html import comparison_html, report_html
from aios.evaluation.records import ResultRecord
from aios.evaluation.stats import Comparison

__all__ = ["RichProgress", "comparison_json", "exit_code", "render_comparison",
           "render_report", "report_json", "write_comparison", "write_report"]

_STYLE = {"passed": "green", "failed": "red", "error": "yellow", "skipped": "dim"}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _short(value: Any, limit: int = 60) -> str:
    text = " ".join(output_text(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RichProgress:
    """A Rich progress bar fed by the harness (a context manager around the run)."""

    def __init__(self, console: Console):
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TextColumn("{task.fields[tally]}"),
                                  TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                                  transient=False)
        self._task: Any = None
        self._tally = {"passed": 0, "failed": 0, "error": 0}

    def __enter__(self) -> RichProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def _text(self) -> str:
        return (f"[green]{self._tally['passed']}✓[/] [red]{self._tally['failed']}✗[/] "
                f"[yellow]{self._tally['error']}![/]")

    def start(self, total: int, done: int, description: str) -> None:
        """Show the bar: `done` of `total` results are already stored."""
        self._task = self._progress.add_task(description, total=total, completed=done,
                                             tally=self._text())

    def advance(self, result: ResultRecord) -> None:
        """Count one more result."""
        self._tally[result.status] = self._tally.get(result.status, 0) + 1
        self._progress.update(self._task, advance=1, tally=self._text())


def render_report(console: Console, report: EvalReport, *, failures: int = 10) -> None:
    """Terminal tables: headline figures, evaluators, tags, the first failures, the gate."""
    s, run = report.summary, report.run
    console.print(f"[bold]{escape(run.suite)}[/] run {run.id} · target {escape(run.target)} "
                  f"· {run.status}")
    head = Table(show_header=False, box=None, pad_edge=False)
    head.add_column(style="dim")
    head.add_column()
    rows = [("results", f"{s.results} ({s.samples} samples x {s.repeats})"),
            ("accuracy", f"{_pct(s.accuracy)}  ({s.passed} passed, {s.failed} failed, "
                         f"{s.errors} errors)"),
            ("success rate", f"{_pct(s.success_rate)}  ({s.target_errors} target errors)"),
            ("latency", f"P50 {s.latency_p50_s:.3g}s · P95 {s.latency_p95_s:.3g}s · mean "
                        f"{s.latency_mean_s:.3g}s"),
            ("tokens", f"{s.input_tokens} in · {s.output_tokens} out"),
            ("cost", f"${s.cost_usd:.4f}")]
    if s.pass_at_k:
        rows.append(("pass@k", " · ".join(f"pass@{k} {_pct(v)}" for k, v in s.pass_at_k.items())))
    if s.repeats > 1 and s.spread:
        rows.append(("run-to-run", f"accuracy {_pct(s.spread['mean'])} ± "
                                   f"{_pct(s.spread['stdev'])} (min {_pct(s.spread['min'])}, "
                                   f"max {_pct(s.spread['max'])})"))
    for key, value in rows:
        head.add_row(key, value)
    console.print(head)
    table = Table(title="evaluators", title_justify="left")
    for col in ("evaluator", "pass rate", "mean score", "passed", "failed", "errors", "note"):
        table.add_column(col, justify="right" if col not in ("evaluator", "note") else "left")
    for label, e in s.per_evaluator.items():
        mean = "-" if e.mean_score is None else f"{e.mean_score:.3f}"
        note = f"skipped: {e.skip_reason}" if e.skip_reason else ""
        table.add_row(escape(label), _pct(e.pass_rate), mean, str(e.passed), str(e.failed),
                      str(e.errors), escape(note))
    console.print(table)
    if s.per_tag:
        tags = Table(title="by tag", title_justify="left")
        tags.add_column("tag")
        tags.add_column("n", justify="right")
        tags.add_column("accuracy", justify="right")
        for tag, v in s.per_tag.items():
            tags.add_row(escape(tag), str(int(v["n"])), _pct(v["accuracy"]))
        console.print(tags)
    bad = [r for r in report.results if r.status != "passed"][:failures]
    if bad:
        table = Table(title=f"not passed (first {len(bad)})", title_justify="left")
        for col in ("sample", "status", "output", "why"):
            table.add_column(col, overflow="fold")
        for r in bad:
            why = r.error or "; ".join(f"{k}: {sc.error or sc.reason}"
                                       for k, sc in r.scores.items() if sc.status != "passed")
            table.add_row(escape(f"{r.sample_id}#{r.repeat}" if s.repeats > 1 else r.sample_id),
                          f"[{_STYLE[r.status]}]{r.status}[/]", escape(_short(r.output)),
                          escape(_short(why, 90)))
        console.print(table)
    if s.fail_under is not None:
        verdict = "[green]PASS[/]" if s.gate_passed else "[red]FAIL[/]"
        console.print(f"gate: accuracy {_pct(s.accuracy)} vs fail_under "
                      f"{_pct(s.fail_under)}: {verdict}")


def report_json(report: EvalReport) -> dict[str, Any]:
    """The run, its summary and every result as JSON-ready data."""
    return {"run": report.run.to_json(), "summary": report.summary.to_json(),
            "results": [r.to_json() for r in report.results]}


def _write(path: Path | str, html: Callable[[], str], data: Callable[[], Any]) -> Path:
    """Write `html()` to an `.html`/`.htm` path, else `data()` as JSON; return the path."""
    path = Path(path)
    html_file = path.suffix.lower() in (".html", ".htm")
    text = html() if html_file else json.dumps(data(), indent=2, default=str) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def write_report(report: EvalReport, path: Path | str) -> Path:
    """Write the report as HTML (`.html`/`.htm`) or JSON (anything else)."""
    return _write(path, lambda: report_html(report), lambda: report_json(report))


def exit_code(report: EvalReport, fail_under: float | None = None) -> int:
    """0, or 1 when accuracy is below `fail_under` (default: the suite's)."""
    threshold = fail_under if fail_under is not None else report.summary.fail_under
    return 1 if threshold is not None and report.summary.accuracy < threshold else 0


def render_comparison(console: Console, c: Comparison) -> None:
    """Terminal view of an A/B comparison, ending with the verdict."""
    m = c.mcnemar
    table = Table(title=f"{c.label_a} (A) vs {c.label_b} (B) on {c.n} shared samples",
                  title_justify="left", show_header=False)
    table.add_column(style="dim")
    table.add_column()
    level = f"{c.pass_diff.confidence:.0%} CI"
    for key, value in (
            ("pass rate", f"A {_pct(c.pass_rate_a)} · B {_pct(c.pass_rate_b)}"),
            ("pairs", f"both pass {m.both_pass} · only A {m.a_only} · only B {m.b_only} · "
                      f"both fail {m.both_fail}"),
            ("McNemar exact", f"p = {m.p_value:.4g} (alpha = {c.alpha:g})"),
            ("pass-rate diff (B-A)", f"{c.pass_diff.estimate:+.1%} ({level} "
                                     f"{c.pass_diff.low:+.1%} to {c.pass_diff.high:+.1%})"),
            ("score diff (B-A)", f"{c.score_diff.estimate:+.4f} ({level} "
                                 f"{c.score_diff.low:+.4f} to {c.score_diff.high:+.4f})"),
            ("effect size", f"Cohen's d_z {c.cohen_dz:.3f}" if c.cohen_dz is not None
             else "Cohen's d_z -"),
            ("pairs for 80% power", str(c.required_n) if c.required_n else "-"),
            ("not shared", f"{c.only_in_a} only in A · {c.only_in_b} only in B")):
        table.add_row(key, value)
    console.print(table)
    style = "bold green" if c.significant else "bold"
    console.print(f"[{style}]{escape(c.verdict)}[/]")


def comparison_json(c: Comparison) -> dict[str, Any]:
    """The comparison as JSON-ready data."""
    return c.to_json()


def write_comparison(c: Comparison, path: Path | str) -> Path:
    """Write the comparison as HTML (`.html`) or JSON."""
    return _write(path, lambda: comparison_html(c), lambda: comparison_json(c))
