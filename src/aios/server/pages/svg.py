"""Inline SVG drawn on the server: the action DAG, the trace waterfall, line charts.

No chart library: each drawing is a few dozen elements whose classes the stylesheet colours
and the live-update script changes (a DAG node's `st-<status>` class).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

from aios.llm.pricing import usd_text
from aios.observability.traces import SpanNode, TraceTree
from aios.server.dag import DagNode

__all__ = ["PALETTE", "dag_svg", "line_chart_svg", "waterfall_svg"]

#: Series colours of charts (and their legends).
PALETTE = ("#3b6fd4", "#e07b24", "#2e9e5b", "#c23b6b", "#8a5cd0", "#2aa1b3", "#b39a2a",
           "#6b7280")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _depths(nodes: Sequence[DagNode]) -> dict[str, int]:
    ids = {n.id for n in nodes}
    deps = {n.id: [d for d in n.depends_on if d in ids] for n in nodes}
    depth: dict[str, int] = {}

    def of(node: str, seen: frozenset[str]) -> int:
        if node not in depth:
            parents = [d for d in deps[node] if d not in seen]  # a cycle ends the walk
            depth[node] = 1 + max((of(d, seen | {node}) for d in parents), default=-1)
        return depth[node]

    for n in nodes:
        of(n.id, frozenset())
    return depth


def dag_svg(nodes: Sequence[DagNode]) -> Markup:
    """The DAG left to right: a column per depth, edges from each dependency."""
    if not nodes:
        return Markup('<p class="muted">no steps</p>')
    w, h, gap_x, gap_y, pad = 190, 56, 60, 16, 12
    depth = _depths(nodes)
    columns: dict[int, list[DagNode]] = {}
    for n in nodes:
        columns.setdefault(depth[n.id], []).append(n)
    where: dict[str, tuple[float, float]] = {}
    for col, members in columns.items():
        for row, n in enumerate(members):
            where[n.id] = (pad + col * (w + gap_x), pad + row * (h + gap_y))
    width = pad * 2 + len(columns) * w + (len(columns) - 1) * gap_x
    height = pad * 2 + max(len(m) for m in columns.values()) * (h + gap_y) - gap_y
    parts = [f'<svg class="dag" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="action DAG"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" '
             'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
             '<path d="M 0 0 L 10 5 L 0 10 z" class="dag-arrow"/></marker></defs>']
    for n in nodes:
        x2, y2 = where[n.id]
        for dep in n.depends_on:
            if dep not in where:
                continue
            x1, y1 = where[dep]
            sx, sy, ex, ey = x1 + w, y1 + h / 2, x2, y2 + h / 2
            mid = (sx + ex) / 2
            parts.append(f'<path class="dag-edge" d="M {sx} {sy} C {mid} {sy}, {mid} {ey}, '
                         f'{ex - 2} {ey}" marker-end="url(#arrow)"/>')
    for n in nodes:
        x, y = where[n.id]
        optional = "" if n.critical else " optional"
        parts.append(
            f'<g class="dag-node st-{escape(n.status)}{optional}" id="dag-{escape(n.id)}" '
            f'data-step="{escape(n.id)}"><title>{escape(n.id)}: {escape(n.action)} '
            f'({escape(n.status)})</title>'
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="7"/>'
            f'<text class="dag-id" x="{x + 10}" y="{y + 19}">{escape(_clip(n.id, 24))}</text>'
            f'<text class="dag-action" x="{x + 10}" y="{y + 34}">'
            f'{escape(_clip(n.action, 28))}</text>'
            f'<text class="dag-status" x="{x + 10}" y="{y + 48}">{escape(n.status)}</text>'
            "</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _flatten(nodes: Sequence[SpanNode], depth: int, out: list[tuple[SpanNode, int]]) -> None:
    for node in sorted(nodes, key=lambda n: n.start):
        out.append((node, depth))
        _flatten(node.children, depth + 1, out)


def waterfall_svg(tree: TraceTree, *, max_rows: int = 400) -> Markup:
    """One bar per span on a shared time axis, nested under its parent."""
    rows: list[tuple[SpanNode, int]] = []
    _flatten(tree.roots, 0, rows)
    rows = rows[:max_rows]
    if not rows:
        return Markup('<p class="muted">no spans</p>')
    t0 = min(n.start for n, _ in rows)
    total = max(max((n.start - t0).total_seconds() * 1000 + n.duration_ms for n, _ in rows),
                0.001)
    label_w, bar_w, row_h, top = 330, 560, 22, 26
    width, height = label_w + bar_w + 90, top + len(rows) * row_h + 6
    parts = [f'<svg class="waterfall" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="trace waterfall">']
    for i in range(5):
        x = label_w + bar_w * i / 4
        parts.append(f'<line class="wf-grid" x1="{x}" y1="{top - 6}" x2="{x}" '
                     f'y2="{height}"/><text class="wf-tick" x="{x}" y="{top - 10}">'
                     f"{total * i / 4:.1f} ms</text>")
    for i, (node, depth) in enumerate(rows):
        y = top + i * row_h
        offset = (node.start - t0).total_seconds() * 1000
        x = label_w + bar_w * offset / total
        bw = max(bar_w * node.duration_ms / total, 2.0)
        status = "error" if node.status == "error" else "ok"
        tip = (f"{node.name} ({node.kind}) {node.duration_ms:.1f} ms at +{offset:.1f} ms"
               + (f"; tokens {node.input_tokens}/{node.output_tokens}, {usd_text(node.cost_usd)}"
                  if node.kind == "llm" else "")
               + (f"; error: {node.error}" if node.error else ""))
        parts.append(
            f'<g class="wf-row wf-{escape(node.kind)} wf-{status}" '
            f'data-span="{escape(node.span_id)}"><title>{escape(tip)}</title>'
            f'<text class="wf-label" x="{6 + depth * 14}" y="{y + 15}">'
            f'{escape(_clip(node.name, 44 - depth * 2))}</text>'
            f'<rect x="{x:.2f}" y="{y + 4}" width="{bw:.2f}" height="{row_h - 8}" rx="3"/>'
            f'<text class="wf-dur" x="{min(x + bw + 4, label_w + bar_w + 4):.2f}" '
            f'y="{y + 15}">{node.duration_ms:.1f} ms</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _fmt(value: float, unit: str) -> str:
    if unit == "usd":
        return usd_text(value) if value < 1 else f"${value:.2f}"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def line_chart_svg(title: str, starts: Sequence[datetime],
                   series: Sequence[tuple[str, Sequence[float | None]]], *,
                   unit: str = "ms") -> Markup:
    """Lines over time buckets (gaps where a value is None), with a legend."""
    width, height, left, right, top, bottom = 520, 230, 70, 14, 30, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vals in series for v in vals if v is not None]
    peak = max(values, default=0.0) or 1.0
    n = len(starts)
    parts = [f'<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><text class="chart-title" x="{left}" y="18">'
             f"{escape(title)}</text>"]
    for i in range(5):
        y = top + plot_h * i / 4
        parts.append(f'<line class="chart-grid" x1="{left}" y1="{y}" x2="{width - right}" '
                     f'y2="{y}"/><text class="chart-axis" x="{left - 6}" y="{y + 4}" '
                     f'text-anchor="end">{escape(_fmt(peak * (4 - i) / 4, unit))}</text>')

    def x_of(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    for i in sorted({0, n // 2, n - 1}) if n else []:
        # The outer labels align inwards so that they stay inside the drawing.
        anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
        parts.append(f'<text class="chart-axis" x="{x_of(i)}" y="{height - bottom + 18}" '
                     f'text-anchor="{anchor}">{starts[i]:%m-%d %H:%M}</text>')
    if not values:
        parts.append(f'<text class="chart-empty" x="{left + plot_w / 2}" '
                     f'y="{top + plot_h / 2}" text-anchor="middle">no data in this window'
                     "</text>")
    for k, (_, vals) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        segment: list[str] = []
        for i, v in enumerate([*vals, None]):
            if v is not None:
                segment.append(f"{x_of(i):.1f},{top + plot_h * (1 - v / peak):.1f}")
                continue
            if len(segment) > 1:
                parts.append(f'<polyline class="chart-line" stroke="{colour}" '
                             f'points="{" ".join(segment)}"/>')
            elif segment:
                cx, cy = segment[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
            segment = []
    parts.append('</svg><figcaption class="legend">')
    for k, (key, _) in enumerate(series):
        parts.append(f'<span><i style="background:{PALETTE[k % len(PALETTE)]}"></i>'
                     f"{escape(key)}</span>")
    parts.append("</figcaption></figure>")
    return Markup("".join(parts))
