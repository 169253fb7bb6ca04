"""The server-drawn SVG: DAG layout, trace waterfall, line charts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aios.observability.traces import SpanNode, TraceTree
from aios.server.dag import DagNode
from aios.server.pages.svg import dag_svg, line_chart_svg, waterfall_svg


def _positions(svg: str) -> dict[str, tuple[float, float]]:
    found = re.findall(r'id="dag-([^"]+)".*?<rect x="([\d.]+)" y="([\d.]+)"', svg)
    return {name: (float(x), float(y)) for name, x, y in found}


def test_the_dag_puts_each_step_one_column_after_its_last_dependency() -> None:
    nodes = [DagNode("a", "x.a", ()), DagNode("b", "x.b", ()),
             DagNode("c", "x.c", ("a", "b"), "waiting"), DagNode("d", "x.d", ("c",)),
             DagNode("e", "x.e", ("a",), critical=False)]
    svg = str(dag_svg(nodes))
    where = _positions(svg)
    assert where["a"][0] == where["b"][0] < where["c"][0] < where["d"][0]
    assert where["e"][0] == where["c"][0] and where["e"][1] != where["c"][1]
    assert svg.count('class="dag-edge"') == 4
    assert 'class="dag-node st-waiting" id="dag-c"' in svg
    assert 'class="dag-node st-pending optional" id="dag-e"' in svg


def test_dag_text_is_escaped() -> None:
    svg = str(dag_svg([DagNode("<b>", "x.<script>", ())]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_the_waterfall_places_bars_on_one_time_axis() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def node(name: str, start_ms: float, ms: float, kind: str, status: str = "ok",
             children: list[SpanNode] | None = None) -> SpanNode:
        return SpanNode(name, None, name, kind, t0 + timedelta(milliseconds=start_ms), ms,
                        status, {}, [], 0, 0, 0.0, None, children or [])

    root = node("run", 0, 100, "run", children=[node("one", 0, 50, "action"),
                                                node("two", 50, 50, "action", "error")])
    svg = str(waterfall_svg(TraceTree("t", (root,), 3)))
    bars = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    (x0, w0), (x1, w1), (x2, w2) = ((float(x), float(w)) for x, w in bars)
    assert x0 == x1 and w1 == w2 == w0 / 2 and x2 == x1 + w1
    assert 'class="wf-row wf-action wf-error"' in svg
    assert '<text class="wf-label" x="20"' in svg  # children are indented


def test_a_line_chart_breaks_where_there_is_no_value() -> None:
    starts = [datetime(2026, 1, 1, h, tzinfo=UTC) for h in range(5)]
    svg = str(line_chart_svg("latency", starts, [("a", [1.0, 2.0, None, 4.0, None]),
                                                 ("b", [None] * 5)], unit="ms"))
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 1
    assert "no data" not in svg and ">a</span>" in svg
    empty = str(line_chart_svg("cost", starts, [], unit="usd"))
    assert "no data in this window" in empty
