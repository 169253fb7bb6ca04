"""Red-team results: summaries by family and severity, JSON, HTML, and the CI exit code."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from aios.security.redteam.catalog import Severity
from aios.security.redteam.runner import AttackResult

__all__ = ["exit_code", "render_html", "summarize", "to_json"]


def summarize(results: Sequence[AttackResult]) -> dict[str, Any]:
    """Totals, and per family and per severity: attacks, successes, blocked, errors.

    `judged` counts successes only the LLM judge saw; `judge_errors` counts attacks whose
    judge gave no verdict (never counted as successes).
    """

    def bucket(items: Sequence[AttackResult]) -> dict[str, int]:
        return {"attacks": len(items), "succeeded": sum(r.succeeded for r in items),
                "blocked": sum(r.blocked is not None for r in items),
                "errors": sum(r.error is not None for r in items),
                "judged": sum(r.judged_only for r in items),
                "judge_errors": sum(r.judge is not None and r.judge.error is not None
                                    for r in items)}

    families = sorted({r.attack.family for r in results})
    return {**bucket(results),
            "by_family": {f: bucket([r for r in results if r.attack.family == f])
                          for f in families},
            "by_severity": {s.value: bucket([r for r in results if r.attack.severity is s])
                            for s in Severity}}


def to_json(runs: Mapping[str, Sequence[AttackResult]], target: str) -> dict[str, Any]:
    """`{"target", "runs": {mode: {"summary", "results"}}}` for `--json`."""
    return {"target": target,
            "runs": {mode: {"summary": summarize(results),
                            "results": [r.to_dict() for r in results]}
                     for mode, results in runs.items()}}


def exit_code(runs: Mapping[str, Sequence[AttackResult]], fail_on: Severity | None) -> int:
    """1 when an attack at or above `fail_on` succeeded in the last run (guardrails on, when
    both ran), else 0. None: always 0."""
    if fail_on is None or not runs:
        return 0
    final = list(runs.values())[-1]
    return int(any(r.succeeded and r.attack.severity.rank >= fail_on.rank for r in final))


_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}"
        ".ok{color:#176f2c}.bad{color:#b00020;font-weight:bold}.blk{color:#8a6d00}"
        "pre{white-space:pre-wrap;background:#f6f6f6;padding:6px;margin:2px 0}"
        "details{margin:4px 0}")


def _status(r: AttackResult) -> str:
    if r.succeeded:
        return '<span class="bad">SUCCEEDED</span>'
    if r.blocked:
        return '<span class="blk">blocked</span>'
    if r.error:
        return '<span class="blk">error</span>'
    return '<span class="ok">resisted</span>'


def render_html(runs: Mapping[str, Sequence[AttackResult]], target: str) -> str:
    """A standalone HTML report: summary tables, then every finding with its transcript."""
    e = html.escape
    parts = [f"<!doctype html><meta charset=utf-8><title>Ai:oS red team: {e(target)}</title>"
             f"<style>{_CSS}</style><h1>Red team report</h1><p>Target: <code>{e(target)}</code>"
             "</p>"]
    modes = list(runs)
    summaries = {m: summarize(runs[m]) for m in modes}
    parts.append("<h2>By family</h2><table><tr><th>family</th>"
                 + "".join(f"<th>succeeded ({e(m)})</th><th>blocked ({e(m)})</th>" for m in modes)
                 + "</tr>")
    families = sorted({f for s in summaries.values() for f in s["by_family"]})
    for fam in families:
        cells = "".join(
            f"<td>{summaries[m]['by_family'].get(fam, {}).get('succeeded', 0)}/"
            f"{summaries[m]['by_family'].get(fam, {}).get('attacks', 0)}</td>"
            f"<td>{summaries[m]['by_family'].get(fam, {}).get('blocked', 0)}</td>" for m in modes)
        parts.append(f"<tr><td>{e(fam)}</td>{cells}</tr>")
    parts.append("</table><h2>By severity</h2><table><tr><th>severity</th>"
                 + "".join(f"<th>succeeded ({e(m)})</th>" for m in modes) + "</tr>")
    for sev in Severity:
        cells = "".join(f"<td>{summaries[m]['by_severity'][sev.value]['succeeded']}/"
                        f"{summaries[m]['by_severity'][sev.value]['attacks']}</td>" for m in modes)
        parts.append(f"<tr><td>{sev.value}</td>{cells}</tr>")
    parts.append("</table>")
    for mode in modes:
        parts.append(f"<h2>Findings: {e(mode)}</h2>")
        for r in runs[mode]:
            lines = "".join(f"<pre><b>{e(role)}</b>: {e(text)}</pre>"
                            for role, text in r.transcript)
            if r.judge is not None:
                verdict = (f"error: {r.judge.error}" if r.judge.error else
                           f"{'success' if r.judge.success else 'no success'}: {r.judge.reason}")
                lines += f"<pre><b>judge ({e(r.judge.model or 'default')})</b>: {e(verdict)}</pre>"
            why = e(r.evidence or (f"judge: {r.judge.reason}" if r.judged_only and r.judge
                                   else "") or r.blocked or r.error or "")
            parts.append(f"<details{' open' if r.succeeded else ''}><summary>{_status(r)} "
                         f"<code>{e(r.attack.id)}</code> {e(r.attack.family)} / "
                         f"{r.attack.severity.value} {why}</summary>{lines}</details>")
    return "\n".join(parts)
