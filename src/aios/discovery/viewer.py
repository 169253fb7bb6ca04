"""The self-contained interactive HTML view of a knowledge graph.

One file, no network: the graph is embedded as JSON, drawn as inline SVG by a small force
layout written here (repulsion between all nodes, springs along edges, gravity to the
centre, cooling). Click a node to list its claims with their citations; drag to move a node;
type in the search box to highlight entities.
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["render_html"]

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>__TITLE__</title>
<style>
body{margin:0;font:14px system-ui,sans-serif;display:flex;height:100vh;color:#222}
#left{flex:1;position:relative}svg{width:100%;height:100%;background:#fbfbfd}
#side{width:380px;overflow:auto;border-left:1px solid #ddd;padding:12px}
#search{position:absolute;top:10px;left:10px;padding:4px 8px;width:220px}
line{stroke:#aab;stroke-opacity:.7}line.conflict{stroke:#d33;stroke-dasharray:4 3}
circle{stroke:#fff;stroke-width:1.5px;cursor:pointer}circle.sel{stroke:#000;stroke-width:3px}
text{font-size:11px;pointer-events:none;fill:#333}.dim{opacity:.15}
.claim{border-bottom:1px solid #eee;padding:6px 0}.rel{font-weight:600;color:#345}
.cite{font-size:12px;color:#555;margin:2px 0 0 10px}.conf{color:#a60}
.legend span{display:inline-block;margin-right:10px}
.dot{width:10px;height:10px;border-radius:5px;display:inline-block;margin-right:4px}
</style></head><body>
<div id="left"><input id="search" placeholder="find an entity"><svg id="svg"></svg></div>
<div id="side"><h2>__TITLE__</h2><div id="summary"></div>
<div class="legend" id="legend"></div>
<div id="detail"><p>Click a node to see its claims and their sources.</p></div></div>
<script type="application/json" id="graph-data">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("graph-data").textContent);
const svg = document.getElementById("svg"), NS = "http://www.w3.org/2000/svg";
const colors = {name: "#4a7bd0", year: "#e0a030", class: "#5aa866"};
const W = () => svg.clientWidth || 800, H = () => svg.clientHeight || 600;
const nodes = data.nodes.map((n, i) => Object.assign({}, n, {
  x: W() / 2 + 200 * Math.cos(i), y: H() / 2 + 200 * Math.sin(i), vx: 0, vy: 0}));
const byId = new Map(nodes.map(n => [n.id, n]));
const links = data.links.filter(l => byId.has(l.source) && byId.has(l.target))
  .map(l => Object.assign({}, l, {s: byId.get(l.source), t: byId.get(l.target)}));
document.getElementById("summary").textContent =
  `${nodes.length} entities, ${data.claims.length} claims. ${data.meta || ""}`;
document.getElementById("legend").innerHTML = Object.entries(colors).map(([k, c]) =>
  `<span><i class="dot" style="background:${c}"></i>${k}</span>`).join("");
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  parent.appendChild(e); return e;
}
const gLinks = el("g", {}, svg), gNodes = el("g", {}, svg), gText = el("g", {}, svg);
for (const l of links) l.el = el("line", {class: l.conflict ? "conflict" : ""}, gLinks);
for (const n of nodes) {
  n.r = 4 + Math.min(12, 2 * Math.sqrt(n.degree));
  n.el = el("circle", {r: n.r, fill: colors[n.kind] || "#888"}, gNodes);
  n.label = el("text", {dx: n.r + 2, dy: 4}, gText);
  n.label.textContent = n.name;
  n.el.addEventListener("mousedown", ev => { drag = n; ev.preventDefault(); });
  n.el.addEventListener("click", () => select(n));
}
let drag = null, alpha = 1;
svg.addEventListener("mousemove", ev => {
  if (!drag) return;
  const box = svg.getBoundingClientRect();
  drag.x = ev.clientX - box.left; drag.y = ev.clientY - box.top; drag.vx = drag.vy = 0;
  alpha = Math.max(alpha, 0.3);
});
window.addEventListener("mouseup", () => { drag = null; });
function tick() {
  const k = Math.sqrt(W() * H() / Math.max(1, nodes.length)) * 0.6;
  for (let i = 0; i < nodes.length; i++) {
    const a = nodes[i];
    for (let j = i + 1; j < nodes.length; j++) {
      const b = nodes[j];
      let dx = a.x - b.x, dy = a.y - b.y, d2 = dx * dx + dy * dy + 0.01;
      if (d2 > 90000) continue;
      const f = k * k / d2 * 0.05;
      a.vx += dx * f; a.vy += dy * f; b.vx -= dx * f; b.vy -= dy * f;
    }
  }
  for (const l of links) {
    const dx = l.t.x - l.s.x, dy = l.t.y - l.s.y, d = Math.sqrt(dx * dx + dy * dy) + 0.01;
    const f = (d - k) / d * 0.04;
    l.s.vx += dx * f; l.s.vy += dy * f; l.t.vx -= dx * f; l.t.vy -= dy * f;
  }
  for (const n of nodes) {
    n.vx += (W() / 2 - n.x) * 0.004; n.vy += (H() / 2 - n.y) * 0.004;
    if (n === drag) continue;
    n.x += Math.max(-20, Math.min(20, n.vx * alpha));
    n.y += Math.max(-20, Math.min(20, n.vy * alpha));
    n.vx *= 0.6; n.vy *= 0.6;
    n.x = Math.max(n.r, Math.min(W() - n.r, n.x)); n.y = Math.max(n.r, Math.min(H() - n.r, n.y));
  }
  alpha = Math.max(0.02, alpha * 0.985);
}
function draw() {
  for (const l of links) {
    l.el.setAttribute("x1", l.s.x); l.el.setAttribute("y1", l.s.y);
    l.el.setAttribute("x2", l.t.x); l.el.setAttribute("y2", l.t.y);
  }
  for (const n of nodes) {
    n.el.setAttribute("cx", n.x); n.el.setAttribute("cy", n.y);
    n.label.setAttribute("x", n.x); n.label.setAttribute("y", n.y);
  }
}
function frame() { if (alpha > 0.021 || drag) { tick(); draw(); } requestAnimationFrame(frame); }
for (let i = 0; i < 150; i++) tick();
draw(); requestAnimationFrame(frame);
function esc(s) {
  const d = document.createElement("div"); d.textContent = String(s ?? ""); return d.innerHTML;
}
function cite(src) {
  if (src.kind === "model")
    return `model call <code>${esc(src.call_id)}</code> (${esc(src.model || "model")})`;
  return `<code>${esc(src.doc_id)}</code> chars ${esc(src.start)}-${esc(src.end)}` +
    ` [${esc(src.extractor)}]: &ldquo;${esc(src.quote)}&rdquo;`;
}
function select(n) {
  for (const m of nodes) m.el.classList.toggle("sel", m === n);
  const claims = data.claims.filter(c => c.subject_id === n.id || c.object_id === n.id);
  const rows = claims.map(c => `<div class="claim"><b>${esc(c.subject)}</b>
    <span class="rel">${esc(c.relation)}</span> <b>${esc(c.object)}</b>
    <span class="conf">(${c.confidence.toFixed(2)})</span>
    ${c.conflicts.length ? '<span style="color:#d33"> conflicts with another claim</span>' : ""}
    ${c.sources.map(s => `<div class="cite">${cite(s)}</div>`).join("")}</div>`).join("");
  document.getElementById("detail").innerHTML = `<h3>${esc(n.name)}</h3>
    <p>kind ${esc(n.kind)}; also called: ${esc((n.aliases || []).join(", "))}</p>
    ${rows || "<p>no claims</p>"}`;
}
document.getElementById("search").addEventListener("input", ev => {
  const q = ev.target.value.toLowerCase();
  for (const n of nodes) {
    const hit = !q || n.name.toLowerCase().includes(q);
    n.el.classList.toggle("dim", !hit); n.label.classList.toggle("dim", !hit);
  }
});
</script></body></html>
"""


def render_html(payload: dict[str, Any], title: str) -> str:
    """The viewer page for `payload` (`nodes`, `links`, `claims`, `meta`)."""
    # `</` inside the JSON would end the <script> element early.
    data = json.dumps(payload, default=str).replace("</", "<\\/")
    return _TEMPLATE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data)
