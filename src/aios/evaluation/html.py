"""A self-contained HTML report: inline CSS and SVG charts drawn here, no scripts, no CDN."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np

from aios.evaluation.harness import EvalReport
from aios.evaluation.stats import Comparison

__all__ = ["bar_chart_svg", "comparison_html", "histogram_svg", "report_html"]

_COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "error": "#ef6c00",
            "skipped": "#757575", "bar": "#1565c0", "b": "#6a1b9a"}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222}
h1{margin-bottom:.2rem}.sub{color:#666;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.7rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.4rem}.card span{color:#666;font-size:.85rem}
.charts{display:flex;flex-wrap:wrap;gap:2rem}
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.9rem}
th,td{border-bottom:1px solid #eee;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#fafafa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#2e7d32}.failed{color:#c62828}.error{color:#ef6c00}.skipped{color:#757575}
.gate-fail{background:#ffebee;border-color:#c62828}.gate-ok{background:#e8f5e9}
pre{white-space:pre-wrap;margin:0;max-width:40rem;font-size:.8rem}
"""


def _fmt(value: float | None, pct: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if pct else f"{value:.3g}"


def bar_chart_svg(title: str, bars: Sequence[tuple[str, float]], *, maximum: float = 1.0,
                  percent: bool = True, colour: str = _COLOURS["bar"]) -> str:
    """Horizontal bars, one per (label, value), as an SVG element."""
    row, label_w, bar_w = 24, 150, 260
    height = 30 + row * max(len(bars), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 70}" '
             f'height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, (label, value) in enumerate(bars):
        y = 26 + i * row
        width = 0.0 if maximum <= 0 else max(0.0, min(value / maximum, 1.0)) * bar_w
        text = f"{value:.1%}" if percent else f"{value:.3g}"
        parts += [f'<text x="{label_w - 6}" y="{y + 14}" font-size="12" text-anchor="end">'
                  f'{escape(label[:22])}</text>',
                  f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="16" fill="#eee"/>',
                  f'<rect x="{label_w}" y="{y + 2}" width="{width:.1f}" height="16" '
                  f'fill="{colour}"><title>{escape(label)}: {text}</title></rect>',
                  f'<text x="{label_w + bar_w + 6}" y="{y + 14}" font-size="12">{text}</text>']
    parts.append("</svg>")
    return "".join(parts)


def histogram_svg(title: str, values: Sequence[float], *, bins: int = 12,
                  unit: str = "s") -> str:
    """A histogram of `values` as an SVG element."""
    width, height, pad = 420, 180, 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    if len(values):
        counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins)
        top = max(int(counts.max()), 1)
        step = (width - pad) / len(counts)
        for i, count in enumerate(counts):
            h = count / top * (height - 40)
            x, y = pad + i * step, height - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step - 2:.1f}" '
                         f'height="{h:.1f}" fill="{_COLOURS["bar"]}"><title>'
                         f'{edges[i]:.3g}-{edges[i + 1]:.3g}{unit}: {count}</title></rect>')
        parts += [f'<line x1="{pad}" y1="{height}" x2="{width}" y2="{height}" '
                  'stroke="#999"/>',
                  f'<text x="{pad}" y="{height + 16}" font-size="11">{edges[0]:.3g}{unit}</text>',
                  f'<text x="{width}" y="{height + 16}" font-size="11" text-anchor="end">'
                  f'{edges[-1]:.3g}{unit}</text>',
                  f'<text x="0" y="{height - (height - 40) + 4}" font-size="11">{top}</text>']
    parts.append("</svg>")
    return "".join(parts)


def _outcome_svg(passed: int, failed: int, errors: int) -> str:
    total = max(passed + failed + errors, 1)
    width, x = 420, 0.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60" role="img" '
             'aria-label="outcomes">',
             '<text x="0" y="16" font-size="14" font-weight="bold">Outcomes</text>']
    for name, count in (("passed", passed), ("failed", failed), ("error", errors)):
        w = count / total * width
        if w:
            parts.append(f'<rect x="{x:.1f}" y="24" width="{w:.1f}" height="22" '
                         f'fill="{_COLOURS[name]}"><title>{name}: {count}</title></rect>')
            if w > 40:
                parts.append(f'<text x="{x + 4:.1f}" y="40" font-size="12" fill="#fff">'
                             f'{name} {count}</text>')
        x += w
    parts.append("</svg>")
    return "".join(parts)


def _card(label: str, value: str, cls: str = "") -> str:
    return f'<div class="card {cls}"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _cell(value: Any, limit: int = 400) -> str:
    from aios.evaluation.evaluators import output_text

    text = output_text(value)
    return f"<pre>{escape(text[:limit] + ('…' if len(text) > limit else ''))}</pre>"


def _page(title: str, body: Sequence[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def report_html(report: EvalReport, *, max_rows: int = 500) -> str:
    """The HTML page of one run: headline figures, charts, and every result."""
    s, run = report.summary, report.run
    gate = ""
    if s.fail_under is not None:
        gate = _card(f"gate: fail_under {s.fail_under:.0%}", "PASS" if s.gate_passed
                     else "FAIL", "gate-ok" if s.gate_passed else "gate-fail")
    cards = [_card("accuracy", _fmt(s.accuracy)), _card("success rate", _fmt(s.success_rate)),
             _card("results", f"{s.results} ({s.samples}x{s.repeats})"),
             _card("latency P50 / P95", f"{s.latency_p50_s:.3g}s / {s.latency_p95_s:.3g}s"),
             _card("tokens in / out", f"{s.input_tokens} / {s.output_tokens}"),
             _card("cost", f"${s.cost_usd:.4f}"), gate]
    cards += [_card(f"pass@{k}", _fmt(v)) for k, v in s.pass_at_k.items()]
    if s.spread and s.repeats > 1:
        cards.append(_card("run-to-run spread (stdev)", _fmt(s.spread.get("stdev"))))
    charts = [_outcome_svg(s.passed, s.failed, s.errors),
              bar_chart_svg("Pass rate by evaluator",
                            [(k, v.pass_rate or 0.0) for k, v in s.per_evaluator.items()]),
              histogram_svg("Latency", [r.latency_s for r in report.results])]
    if s.per_tag:
        charts.append(bar_chart_svg("Accuracy by tag",
                                    [(k, v["accuracy"]) for k, v in s.per_tag.items()]))
    evaluator_rows = "".join(
        f"<tr><td>{escape(k)}</td><td class=num>{_fmt(v.pass_rate)}</td>"
        f"<td class=num>{_fmt(v.mean_score, pct=False)}</td><td class=num>{v.passed}</td>"
        f"<td class=num>{v.failed}</td><td class=num>{v.errors}</td>"
        f"<td class=num>{v.skipped}</td><td>{escape(v.skip_reason or '')}</td></tr>"
        for k, v in s.per_evaluator.items())
    rows = []
    for r in report.results[:max_rows]:
        notes = "<br>".join(
            f'<span class="{sc.status}">{escape(k)}: {sc.status}</span> '
            f"{escape((sc.error or sc.reason)[:200])}" for k, sc in r.scores.items())
        rows.append(f'<tr><td>{escape(r.sample_id)}</td><td class=num>{r.repeat}</td>'
                    f'<td class="{r.status}">{r.status}</td><td>{_cell(r.input)}</td>'
                    f"<td>{_cell(r.expected)}</td><td>{_cell(r.output)}"
                    f"{_cell(r.error) if r.error else ''}</td><td>{notes}</td>"
                    f"<td class=num>{r.latency_s:.3g}s</td></tr>")
    more = (f"<p>{len(report.results) - max_rows} more results are in the JSON report.</p>"
            if len(report.results) > max_rows else "")
    body = [f"<h1>{escape(run.suite)}</h1>",
            f'<p class="sub">run {escape(run.id)} · target {escape(run.target)} · '
            f"{escape(run.status)} · {escape(run.created_at.isoformat(timespec='seconds'))}</p>",
            f'<div class="cards">{"".join(cards)}</div>', f'<div class="charts">{"".join(charts)}'
            "</div>", "<h2>Evaluators</h2><table><tr><th>evaluator</th><th>pass rate</th>"
            "<th>mean score</th><th>passed</th><th>failed</th><th>errors</th><th>skipped</th>"
            f"<th>note</th></tr>{evaluator_rows}</table>",
            "<h2>Results</h2><table><tr><th>sample</th><th>repeat</th><th>status</th>"
            "<th>input</th><th>expected</th><th>output</th><th>scores</th><th>latency</th>"
            f"</tr>{''.join(rows)}</table>{more}"]
    return _page(f"{run.suite} — evaluation {run.id[:12]}", body)


def comparison_html(c: Comparison) -> str:
    """The HTML page of an A/B comparison: pass rates, intervals, the test and the verdict."""
    m = c.mcnemar
    cards = [_card(f"pass rate {c.label_a}", _fmt(c.pass_rate_a)),
             _card(f"pass rate {c.label_b}", _fmt(c.pass_rate_b)),
             _card("McNemar exact p", f"{m.p_value:.3g}"), _card("pairs", str(c.n)),
             _card("pairs needed (80% power)", str(c.required_n or "-"))]
    chart = bar_chart_svg("Pass rate", [(c.label_a, c.pass_rate_a), (c.label_b, c.pass_rate_b)])
    rows = "".join(f"<tr><td>{escape(k)}</td><td class=num>{v}</td></tr>" for k, v in (
        ("both pass", m.both_pass), (f"only {c.label_a} passes", m.a_only),
        (f"only {c.label_b} passes", m.b_only), ("both fail", m.both_fail),
        ("pass-rate difference (B-A)", f"{c.pass_diff.estimate:+.1%} [{c.pass_diff.low:+.1%}, "
                                       f"{c.pass_diff.high:+.1%}]"),
        ("score difference (B-A)", f"{c.score_diff.estimate:+.3f} [{c.score_diff.low:+.3f}, "
                                   f"{c.score_diff.high:+.3f}]"),
        ("Cohen's d_z", _fmt(c.cohen_dz, pct=False)), ("odds ratio", _fmt(c.odds_ratio, False))))
    body = [f"<h1>{escape(c.label_a)} vs {escape(c.label_b)}</h1>",
            f"<p><b>{escape(c.verdict)}</b></p>", f'<div class="cards">{"".join(cards)}</div>',
            chart, f"<table>{rows}</table>"]
    return _page(f"{c.label_a} vs {c.label_b}", body)
