"""`aios traces` (list, show, prune) and `aios metrics`: reading what tracing stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from aios.app import open_store
from aios.cli.common import JsonOpt, console, emit_json, fits, resolve_options, run
from aios.llm.pricing import usd_text
from aios.observability.metrics import GroupStats, MetricsReport, compute_metrics
from aios.observability.traces import (
    SpanNode,
    TraceSummary,
    TraceTree,
    get_trace,
    list_traces,
    prune_spans,
)
from aios.observability.window import parse_duration, parse_since

__all__ = ["register"]

SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="Only spans since then: a duration (30m, 1h, 7d, 2w) or a date "
                    "(2026-11-01, 2026-11-01T08:30).")]
_STATUS_STYLE = {"ok": "green", "unset": "", "error": "red"}


def _since(value: str | None) -> datetime | None:
    return parse_since(value) if value else None


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.1f}ms"


def _usd(value: float) -> str:
    return usd_text(value) if value else "-"


# -- rendering --------------------------------------------------------------------------------


def _traces_table(traces: list[TraceSummary], *, compact: bool) -> Table:
    """The trace list; `compact` (for narrow terminals) drops borders and seconds and shows
    8-character id prefixes, which `aios traces show` takes as well."""
    table = Table(title="traces (newest first)", box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
                  collapse_padding=compact, pad_edge=not compact)
    for column in ("trace", "root", "run", "started", "time", "spans", "status", "tokens",
                   "cost"):
        # Figures and ids are never cut; a long root span name folds.
        table.add_column(column, no_wrap=column != "root", overflow="fold",
                         justify="right" if column in ("time", "spans", "tokens", "cost")
                         else "left")
    ids, started = (8, "%m-%d %H:%M") if compact else (12, "%m-%d %H:%M:%S")
    for t in traces:
        table.add_row(t.trace_id[:ids], escape(t.name), (t.run_id or "-")[:8],
                      t.start.strftime(started), _ms(t.duration_ms), str(t.spans),
                      Text(t.status, style=_STATUS_STYLE[t.status]),
                      str(t.input_tokens + t.output_tokens or "-"), _usd(t.cost_usd))
    return table


def render_traces(out: Console, traces: list[TraceSummary]) -> None:
    """The trace list as a table (a compact one when the full one would not fit)."""
    if not traces:
        out.print("no traces stored yet; run something (aios boot) first")
        return
    table = _traces_table(traces, compact=False)
    if not fits(out, table):
        table = _traces_table(traces, compact=True)
    out.print(table)


def _label(node: SpanNode) -> Text:
    label = Text()
    label.append(node.name, style="bold" if node.kind in ("run", "action") else "")
    label.append(f"  {_ms(node.duration_ms)}", style="cyan")
    status = node.attributes.get("aios.status") or node.status
    if status not in ("unset", "ok", "succeeded"):
        label.append(f"  {status}", style="red" if node.status == "error" else "yellow")
    tokens = node.input_tokens + node.output_tokens
    if tokens:
        label.append(f"  {node.input_tokens}→{node.output_tokens} tok", style="magenta")
    if node.cost_usd:
        label.append(f"  {_usd(node.cost_usd)}", style="green")
    return label


def _add(branch: Tree, node: SpanNode) -> None:
    sub = branch.add(_label(node))
    for ev in node.events:
        if ev.get("name") != "exception":
            attrs = ", ".join(f"{k}={v}" for k, v in ev.get("attributes", {}).items())
            sub.add(Text(f"• {ev.get('name')} {attrs}".rstrip(), style="dim"))
    if node.error:
        error = sub.add(Text(node.error, style="red"))
        if node.stacktrace:
            error.add(Text(node.stacktrace.rstrip(), style="dim red"))
    for child in node.children:
        _add(sub, child)


def render_trace(out: Console, tree: TraceTree) -> None:
    """One trace as a tree with durations, tokens, cost and errors per node."""
    if len(tree.trace_ids) > 1:  # a resumed run: one trace per execution, in order
        title = (f"run {tree.run_id}: {len(tree.trace_ids)} traces "
                 f"({', '.join(t[:8] for t in tree.trace_ids)}), {tree.span_count} spans")
    else:
        title = f"trace {tree.trace_id} ({tree.span_count} spans)"
    root = Tree(Text(title, style="bold"))
    for node in tree.roots:
        _add(root, node)
    out.print(root)


_LATENCY = ("calls", "errors", "err %", "p50", "p95", "p99")
_USAGE = ("llm calls", "in tok", "out tok", "cache r/w", "cost")


def _cells(g: GroupStats) -> dict[str, str]:
    return {"calls": str(g.calls), "errors": str(g.errors), "err %": f"{100 * g.error_rate:.1f}",
            "p50": _ms(g.p50_ms), "p95": _ms(g.p95_ms), "p99": _ms(g.p99_ms),
            "llm calls": str(g.llm_calls), "in tok": str(g.tokens["input"]),
            "out tok": str(g.tokens["output"]),
            "cache r/w": f"{g.tokens['cache_read']}/{g.tokens['cache_write']}",
            # The local model's calls cost nothing: "$0", not "-" (no calls).
            "cost": _usd(g.cost_usd) if g.cost_usd or not g.llm_calls else "$0"}


def _group_table(title: str, groups: tuple[GroupStats, ...], columns: tuple[str, ...], *,
                 caption: str = "") -> Table:
    table = Table(title=title, caption=caption or None)
    table.add_column("", overflow="fold")  # long action names fold; figures are never cut
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    for g in groups:
        cells = _cells(g)
        table.add_row(escape(g.key), *(cells[column] for column in columns))
    return table


def _print_groups(out: Console, title: str, groups: tuple[GroupStats, ...], *,
                  caption: str = "", usage_caption: str = "") -> None:
    """One table of latency and usage; two (latency, then usage) when one would not fit the
    terminal, rather than cutting every figure short."""
    whole = _group_table(title, groups, _LATENCY + _USAGE,
                         caption="; ".join(c for c in (caption, usage_caption) if c))
    if fits(out, whole):
        out.print(whole)
        return
    out.print(_group_table(f"{title}: latency", groups, _LATENCY, caption=caption))
    out.print(_group_table(f"{title}: usage", groups, _USAGE, caption=usage_caption))


def render_metrics(out: Console, report: MetricsReport) -> None:
    """Summary tables: overall, then by agent, action, model and provider."""
    since = report.since.strftime("%Y-%m-%d %H:%M") if report.since else "the first span"
    out.print(f"metrics from {since} to {report.until:%Y-%m-%d %H:%M} UTC")
    # An agent's turns and the endpoint's calls are in no action span: they count on the `llm`
    # row only, so the `actions` row's usage is what actions spent.
    _print_groups(out, "overall", report.overall,
                  caption="actions: action spans; llm: LLM call spans",
                  usage_caption="actions: LLM calls made inside actions; llm: every LLM call")
    for dim, groups in report.by.items():
        if groups:
            _print_groups(out, f"by {dim}", groups)


# -- commands ---------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add `traces` and `metrics` to `app`."""
    traces_app = typer.Typer(help="Stored traces: list, show, prune.",
                             invoke_without_command=True, no_args_is_help=False)
    app.add_typer(traces_app, name="traces")

    def list_them(ctx: typer.Context, limit: int, run_id: str | None, agent: str | None,
                  status: str | None, since: str | None, json_out: bool) -> None:
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> list[TraceSummary]:
            window = _since(since)
            async with open_store(opts.settings()) as store:
                return await list_traces(store, limit=limit, run_id=run_id, agent=agent,
                                         status=status, since=window)

        found = run(go())
        if opts.json:
            emit_json([t.to_json() for t in found])
        else:
            render_traces(console(), found)

    @traces_app.callback()
    def traces(ctx: typer.Context, limit: int = typer.Option(20, "--limit", "-n", min=1),
               run_id: str | None = typer.Option(None, "--run", help="Only this run's traces."),
               agent: str | None = typer.Option(None, help="Only traces touching this agent."),
               status: str | None = typer.Option(None, help="ok or error."),
               since: SinceOpt = None, json_out: JsonOpt = False) -> None:
        """List recent traces (newest first)."""
        if ctx.invoked_subcommand is None:
            list_them(ctx, limit, run_id, agent, status, since, json_out)

    @traces_app.command("list")
    def list_command(
            ctx: typer.Context, limit: int = typer.Option(20, "--limit", "-n", min=1),
            run_id: str | None = typer.Option(None, "--run", help="Only this run's traces."),
            agent: str | None = typer.Option(None, help="Only traces touching this agent."),
            status: str | None = typer.Option(None, help="ok or error."),
            since: SinceOpt = None, json_out: JsonOpt = False) -> None:
        """List recent traces (newest first); the same as `aios traces`."""
        list_them(ctx, limit, run_id, agent, status, since, json_out)

    @traces_app.command("show")
    def show(ctx: typer.Context,
             trace_id: str = typer.Argument(..., help="Trace id, a prefix of it, or a run id."),
             json_out: JsonOpt = False) -> None:
        """Show a trace as a tree (durations, tokens, cost, errors per span); for a run id,
        every trace of the run in order (a resumed run has one per execution)."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> TraceTree:
            async with open_store(opts.settings()) as store:
                return await get_trace(store, trace_id)

        tree = run(go())
        if opts.json:
            emit_json(tree.to_json())
        else:
            render_trace(console(), tree)

    @traces_app.command("prune")
    def prune(ctx: typer.Context,
              older_than: str = typer.Option(..., "--older-than",
                                             help="Age of spans to delete: 30d, 12h, 2w."),
              json_out: JsonOpt = False) -> None:
        """Delete spans older than the given age."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> int:
            age = parse_duration(older_than)
            async with open_store(opts.settings()) as store:
                return await prune_spans(store, age)

        deleted = run(go())
        if opts.json:
            emit_json({"deleted": deleted, "older_than": older_than})
        else:
            console().print(f"deleted {deleted} spans older than {older_than}")

    @app.command("metrics")
    def metrics(ctx: typer.Context, since: SinceOpt = None, json_out: JsonOpt = False) -> None:
        """Calls, tokens, cost, error rate and latency percentiles from the stored spans."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> MetricsReport:
            window = _since(since)
            async with open_store(opts.settings()) as store:
                return await compute_metrics(store, since=window)

        report = run(go())
        if opts.json:
            emit_json(report.to_json())
        else:
            render_metrics(console(), report)
