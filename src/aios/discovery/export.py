"""Exporting a knowledge graph: JSON, GraphML, and a self-contained interactive HTML page.

Exporters register by format name; each returns the file's text.

- `json`: entities, claims (with every source), the documents read and the mission summary.
- `graphml` (`networkx.write_graphml`): GraphML holds only strings and numbers, so lists
  (aliases, conflicts) are joined and the sources are a JSON string on each edge.
- `html`: `aios.discovery.viewer`: inline SVG + JavaScript, no network.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aios.discovery.graph import KnowledgeGraph, networkx
from aios.discovery.viewer import render_html
from aios.errors import ConfigError
from aios.registry import Registry

__all__ = ["EXPORTERS", "export_graph", "exporter", "to_graphml", "to_html", "to_json"]

Exporter = Callable[[KnowledgeGraph, Mapping[str, Any]], str]

#: Exporters by format name, filled by `@exporter`.
EXPORTERS: Registry[Exporter] = Registry("export format", known="use one of")


def exporter(name: str) -> Callable[[Exporter], Exporter]:
    """Register an exporter under format `name`."""

    return EXPORTERS.register(name)


def _entities(graph: KnowledgeGraph) -> list[dict[str, Any]]:
    return [{"id": n, "name": d["name"], "kind": d["kind"], "aliases": d["aliases"],
             "degree": int(graph.graph.degree(n)), "first_step": d.get("first_step")}
            for n, d in graph.graph.nodes(data=True)]


@exporter("json")
def to_json(graph: KnowledgeGraph, meta: Mapping[str, Any]) -> str:
    """Entities, claims with sources, documents read, and `meta` (the mission)."""
    return json.dumps({"mission": dict(meta), "entities": _entities(graph),
                       "claims": graph.claims(), "documents": graph.documents},
                      indent=2, default=str)


@exporter("graphml")
def to_graphml(graph: KnowledgeGraph, meta: Mapping[str, Any]) -> str:
    """GraphML with string/number attributes only."""
    nx = networkx()
    flat = nx.MultiDiGraph(mission=str(meta.get("question", "")))
    for node, data in graph.graph.nodes(data=True):
        flat.add_node(node, name=data["name"], kind=data["kind"],
                      aliases="; ".join(data["aliases"]),
                      first_step=int(data.get("first_step") or 0))
    for u, v, key, data in graph.graph.edges(keys=True, data=True):
        first = data["sources"][0] if data["sources"] else {}
        citation = (f"{first.get('doc_id')}:{first.get('start')}-{first.get('end')}"
                    if first.get("kind") == "passage" else f"model:{first.get('call_id')}")
        flat.add_edge(u, v, key=key, relation=data["relation"],
                      confidence=float(data["confidence"]), sources=json.dumps(data["sources"]),
                      n_sources=len(data["sources"]), citation=citation,
                      conflicts=", ".join(data["conflicts"]),
                      first_step=int(data.get("first_step") or 0))
    buffer = io.BytesIO()
    nx.write_graphml(flat, buffer)
    return buffer.getvalue().decode("utf-8")


@exporter("html")
def to_html(graph: KnowledgeGraph, meta: Mapping[str, Any]) -> str:
    """The interactive viewer page (`aios.discovery.viewer`)."""
    claims = graph.claims()
    links = [{"source": c["subject_id"], "target": c["object_id"], "relation": c["relation"],
              "id": c["id"], "conflict": bool(c["conflicts"])} for c in claims]
    summary = (f"Mission: {meta.get('question', '')} - status {meta.get('status', '?')}"
               f" ({meta.get('stop_reason') or 'running'}).")
    return render_html({"nodes": _entities(graph), "links": links, "claims": claims,
                        "meta": summary}, f"Discovery graph {meta.get('graph', '')}".strip())


def export_graph(graph: KnowledgeGraph, fmt: str, out: Path,
                 meta: Mapping[str, Any] | None = None) -> Path:
    """Write `graph` as `fmt` to `out` and return the path.

    Raises:
        ConfigError: unknown format, or the file cannot be written.
    """
    text = EXPORTERS.get(fmt)(graph, meta or {})
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc}; choose another --out") from exc
    return out
