"""Reports: terminal tables, JSON, a self-contained HTML page with inline SVG charts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

from rich.console import Console

from aios.evaluation import (
    EvalReport,
    EvalRunRecord,
    ResultRecord,
    Score,
    compare_results,
    summarize,
)
from aios.evaluation.html import bar_chart_svg, histogram_svg
from aios.evaluation.reports import (
    exit_code,
    render_comparison,
    render_report,
    report_json,
    write_comparison,
    write_report,
)


def _report(fail_under: float | None = 0.9) -> EvalReport:
    results = [
        ResultRecord("r1", "s1", 0, "passed", input="q1", expected="a", output="a",
                     scores={"em": Score.verdict(True, "matches")}, tags=["geo"],
                     latency_s=0.1, input_tokens=5, output_tokens=2, cost_usd=0.01),
        ResultRecord("r1", "s2", 0, "failed", input="q2", expected="b",
                     output="<script>alert('x')</script>",
                     scores={"em": Score.verdict(False, "no match")}, tags=["geo", "math"],
                     latency_s=0.3),
        ResultRecord("r1", "s3", 0, "error", input="q3", error="RuntimeError: boom",
                     latency_s=0.2, tags=["math"]),
    ]
    summary = summarize(results, run_id="r1", suite="demo", target="callable:x:y",
                        status="succeeded", samples=3, repeats=1, evaluators=["em"],
                        fail_under=fail_under)
    run = EvalRunRecord(id="r1", suite="demo", suite_path=None, spec={}, dataset_digest="d",
                        target="callable:x:y", status="succeeded", samples=3, repeats=1,
                        summary=summary.to_json(), error=None,
                        created_at=datetime(2025, 1, 2, tzinfo=UTC), finished_at=None)
    return EvalReport(run=run, summary=summary, results=results)


def test_terminal_report_shows_figures_failures_and_gate() -> None:
    console = Console(record=True, width=140)
    render_report(console, _report())
    text = console.export_text()
    assert "accuracy" in text and "33.3%" in text and "1 passed, 1 failed, 1 errors" in text
    assert "P50 0.2s" in text and "$0.0100" in text
    assert "RuntimeError: boom" in text and "no match" in text
    assert "gate: accuracy 33.3% vs fail_under 90.0%: FAIL" in text
    assert "math" in text and "geo" in text


def test_json_report_round_trips(tmp_path: Path) -> None:
    path = write_report(_report(), tmp_path / "r.json")
    data = json.loads(path.read_text())
    assert data["summary"]["accuracy"] == report_json(_report())["summary"]["accuracy"]
    assert data["results"][1]["scores"]["em"]["status"] == "failed"
    assert data["summary"]["per_tag"]["math"] == {"n": 2, "accuracy": 0.0}


def test_html_report_is_self_contained_and_escaped(tmp_path: Path) -> None:
    page = write_report(_report(), tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 3
    assert "<script" not in page  # the output with a script tag is escaped, no JS shipped
    assert "&lt;script&gt;" in page
    links = re.findall(r"(?:src|href)=\"([^\"]+)\"", page)
    assert links == []  # nothing fetched from anywhere
    assert re.findall(r"https?://[^\"\s<]+", page) == ["http://www.w3.org/2000/svg"] * \
        page.count('xmlns="http://www.w3.org/2000/svg"')
    assert "Pass rate by evaluator" in page and "Accuracy by tag" in page and "FAIL" in page
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL):
        ElementTree.fromstring(svg)  # each chart is well-formed XML, so browsers draw it


def test_svg_charts_scale_their_bars() -> None:
    svg = bar_chart_svg("t", [("half", 0.5), ("full", 1.0)])
    widths = re.findall(r'width="([\d.]+)" height="16" fill="#1565c0"', svg)
    assert [float(w) for w in widths] == [130.0, 260.0]
    assert histogram_svg("h", [0.1, 0.2, 0.2, 0.9], bins=4).count("<rect") == 4


def test_exit_code_gates_ci() -> None:
    report = _report(fail_under=None)
    assert exit_code(report) == 0
    assert exit_code(report, 0.9) == 1 and exit_code(report, 0.3) == 0
    assert exit_code(_report(fail_under=0.9)) == 1


def test_comparison_renders_in_terminal_and_html(tmp_path: Path) -> None:
    a = [ResultRecord("a", f"s{i}", 0, "failed" if i < 20 else "passed") for i in range(40)]
    b = [ResultRecord("b", f"s{i}", 0, "passed") for i in range(40)]
    c = compare_results(a, b, label_a="base", label_b="cand", n_resamples=1000)
    console = Console(record=True, width=160)
    render_comparison(console, c)
    text = console.export_text()
    assert "McNemar exact" in text and "cand is better" in text
    page = write_comparison(c, tmp_path / "c.html").read_text()
    assert "<svg" in page and "cand is better" in page
    data = json.loads(write_comparison(c, tmp_path / "c.json").read_text())
    assert data["better"] == "cand" and data["odds_ratio"] == "inf"
