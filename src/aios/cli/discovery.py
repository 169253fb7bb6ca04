"""`aios discover`: run, resume, show, export and approve discovery missions.

    aios discover "MISSION" --source corpus:PATH [--source model] [--budget-steps N ...]
    aios discover --resume ID [--budget-steps N]
    aios discover show [ID]
    aios discover export ID --format json|graphml|html --out FILE
    aios discover approve ID [--deny]
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from aios.app import load_manifest, open_gateway, open_store
from aios.cli.common import JsonOpt, ManifestOpt, Options, console, emit_json, resolve_options, run
from aios.discovery import (
    Budget,
    DiscoveryAgent,
    DiscoveryStore,
    KnowledgeGraph,
    MissionState,
    StepRecord,
    build_mission,
    export_graph,
)
from aios.discovery.answer import answer_question
from aios.discovery.report import load_mission_graph, mission_row, mission_summary
from aios.embeddings import EmbeddingService
from aios.errors import ActionSuspended, ConfigError
from aios.store.engine import Store

__all__ = ["register"]


class _DefaultRun(TyperGroup):
    """`aios discover "MISSION" ...` is `aios discover run "MISSION" ...`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click.Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@asynccontextmanager
async def _agent(opts: Options, store: Store, out: Console, on_step: Any = None
                 ) -> AsyncIterator[DiscoveryAgent]:
    manifest = load_manifest(opts.manifest, env=opts.env or None)
    async with open_gateway(manifest, store=store) as gateway:
        yield DiscoveryAgent(DiscoveryStore(store), llm=gateway, embedder=_embedder(out),
                             on_step=on_step)


def _embedder(out: Console) -> EmbeddingService | None:
    """The shared embedding service; without its model, retrieval falls back to BM25 alone."""
    try:
        return EmbeddingService.open()
    except ConfigError as exc:
        out.print(f"[yellow]embeddings unavailable[/] ({escape(str(exc))}); retrieval uses "
                  "BM25 only and entities merge by name only")
        return None


def _progress(out: Console) -> Any:
    def show(record: StepRecord, state: MissionState, graph: KnowledgeGraph) -> None:
        flag = " [yellow]open question[/]" if record.open_question else ""
        out.print(f"[dim]step {record.step:>3}[/] {escape(record.question)[:70]} "
                  f"[green]+{record.new_claims} claims[/] [cyan]+{record.new_entities} "
                  f"entities[/] gain {record.gain:.2f} [dim]tokens {record.tokens} "
                  f"${record.cost_usd:.4f}[/]{flag}", soft_wrap=True)
    return show


def _render_answer(out: Console, question: str, answer: dict[str, Any]) -> None:
    """The answer last: the claims that answer the question, each with its citations."""
    out.print()
    out.rule("answer")
    out.print(f"[bold]{escape(question)}[/]", soft_wrap=True)
    if not answer["found"]:
        out.print(f"[yellow]not found[/]: searched {escape(answer['searched'])}",
                  soft_wrap=True)
        return
    for claim in answer["claims"]:
        relation = claim["relation"].replace("_", " ")
        out.print(f"- {escape(claim['subject'])} [dim]{relation}[/] "
                  f"{escape(claim['object'])} [dim](confidence {claim['confidence']:.2f})[/]",
                  soft_wrap=True)
        for cite in claim["citations"]:
            quote = f": \"{escape(cite['quote'][:100])}\"" if cite.get("quote") else ""
            out.print(f"    [dim]{escape(cite['source'])}{quote}[/]", soft_wrap=True)
    if answer["more"]:
        out.print(f"[dim]... and {answer['more']} more (aios discover show, or export)[/]")


def _budget(steps: int | None, tokens: int | None, usd: float | None,
            seconds: float | None, base: dict[str, Any] | None = None) -> dict[str, Any]:
    budget = dict(base or {})
    for key, value in (("steps", steps), ("tokens", tokens), ("usd", usd),
                       ("seconds", seconds)):
        if value is not None:
            budget[key] = value
    return budget


def register(app: typer.Typer) -> None:
    """Add the `discover` command group to `app`."""
    discover = typer.Typer(cls=_DefaultRun, no_args_is_help=True, help=(
        "Autonomous discovery: explore sources for a mission and build a knowledge graph.\n\n"
        "Run: aios discover \"MISSION\" --source corpus:PATH [--source model] "
        "[--budget-steps N] [--autonomy 0-4] [--graph NAME]; continue: aios discover "
        "--resume ID. See `aios discover run --help` for every option."))
    app.add_typer(discover, name="discover")

    @discover.command("run", hidden=True)
    def run_mission(
        ctx: typer.Context,
        mission: str | None = typer.Argument(None, help="The mission, in plain words."),
        source: list[str] = typer.Option([], "--source", "-s",
                                         help="corpus:PATH or model (repeatable)."),
        budget_steps: int | None = typer.Option(None, help="Steps at most (default 40)."),
        budget_tokens: int | None = typer.Option(None, help="LLM tokens at most."),
        budget_usd: float | None = typer.Option(None, help="LLM spend in USD at most."),
        budget_seconds: float | None = typer.Option(None, help="Stepping seconds at most."),
        autonomy: int = typer.Option(4, min=0, max=4, help="0-4: what needs approval."),
        resume: str | None = typer.Option(None, help="Continue mission ID."),
        graph: str | None = typer.Option(None, help="Extend the named knowledge graph."),
        extractor: list[str] = typer.Option([], help="pattern and/or model (repeatable)."),
        planner: str = typer.Option("fallback", help="model or fallback sub-questions."),
        manifest: ManifestOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Run a mission (or --resume one) until a budget, convergence or an approval."""
        opts = resolve_options(ctx, manifest, json_out=json_out)
        out = console(opts.json)

        async def go() -> dict[str, Any]:
            async with open_store(opts.settings()) as store, \
                    _agent(opts, store, out, None if opts.json else _progress(out)) as agent:
                try:
                    if resume:
                        record = await DiscoveryStore(store).get(resume)
                        budget = _budget(budget_steps, budget_tokens, budget_usd,
                                         budget_seconds, record.config.get("budget"))
                        result = await agent.resume(record.id, budget=Budget(**budget))
                    else:
                        if not mission:
                            raise ConfigError("give the MISSION text, or --resume ID")
                        fields: dict[str, Any] = {
                            "question": mission, "sources": source, "autonomy": autonomy,
                            "graph": graph, "planner": planner,
                            "budget": _budget(budget_steps, budget_tokens, budget_usd,
                                              budget_seconds, Budget().model_dump())}
                        if extractor:
                            fields["extractors"] = extractor
                        result = await agent.start(build_mission(**fields))
                    missions = DiscoveryStore(store)
                    record = await missions.get(result.mission_id)
                    built = await load_mission_graph(missions, record)
                    return {**result.to_json(), "question": record.question,
                            "answer": answer_question(record.question, built)}
                except ActionSuspended as exc:
                    mission_id = (exc.reference or "::").split(":")[1]
                    record = await DiscoveryStore(store).get(mission_id)
                    return {**mission_row(record), "mission_id": record.id,
                            "pending": record.state.get("pending", []), "message": str(exc)}

        result = run(go())
        if opts.json:
            emit_json(result)
            return
        if result.get("status") == "waiting":
            out.print(f"[yellow]mission {result['mission_id']} is waiting for approval:[/]")
            for pending in result["pending"]:
                out.print(f"  - {escape(pending['description'])}")
            out.print(f"approve with [bold]aios discover approve {result['mission_id']}[/] "
                      f"(or --deny), then [bold]aios discover --resume "
                      f"{result['mission_id']}[/]")
            return
        out.print(f"mission [bold]{result['mission_id']}[/] {result['status']}: "
                  f"{escape(str(result['stop_reason']))}")
        out.print(f"{result['steps']} steps, {result['claims']} claims, {result['entities']} "
                  f"entities, {result['open_questions']} open questions, "
                  f"{int(result['usage']['tokens'])} tokens, ${result['usage']['usd']:.4f}; "
                  f"graph {result['graph']}", soft_wrap=True)
        _render_answer(out, result["question"], result["answer"])

    @discover.command("show")
    def show(ctx: typer.Context,
             mission_id: str | None = typer.Argument(None, help="Mission id or prefix."),
             json_out: JsonOpt = False) -> None:
        """List missions, or show one: status, stop reason, top entities, open questions."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> Any:
            async with open_store(opts.settings()) as store:
                missions = DiscoveryStore(store)
                if mission_id is None:
                    return [mission_row(r) for r in await missions.recent()]
                return await mission_summary(missions, await missions.get(mission_id))

        data = run(go())
        if opts.json:
            emit_json(data)
        elif isinstance(data, list):
            _render_list(console(), data)
        else:
            _render_summary(console(), data)

    @discover.command("export")
    def export(ctx: typer.Context, mission_id: str = typer.Argument(..., help="Mission id."),
               fmt: str = typer.Option("json", "--format", "-f", help="json, graphml or html."),
               out: Path = typer.Option(..., "--out", "-o", help="File to write."),
               json_out: JsonOpt = False) -> None:
        """Export a mission's knowledge graph as JSON, GraphML or an interactive HTML page."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> dict[str, Any]:
            async with open_store(opts.settings()) as store:
                missions = DiscoveryStore(store)
                record = await missions.get(mission_id)
                graph = await load_mission_graph(missions, record)
                path = export_graph(graph, fmt, out, mission_row(record))
                return {"mission_id": record.id, "format": fmt, "out": str(path),
                        "claims": graph.claim_count, "entities": graph.entity_count}

        data = run(go())
        if opts.json:
            emit_json(data)
        else:
            console().print(f"wrote {data['out']} ({data['entities']} entities, "
                            f"{data['claims']} claims)")

    @discover.command("approve")
    def approve(ctx: typer.Context, mission_id: str = typer.Argument(..., help="Mission id."),
                deny: bool = typer.Option(False, "--deny", help="Deny instead of approve."),
                json_out: JsonOpt = False) -> None:
        """Approve (or deny) what a waiting mission asked for; then --resume it."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> dict[str, Any]:
            async with open_store(opts.settings()) as store:
                missions = DiscoveryStore(store)
                record = await missions.get(mission_id)
                decided = await DiscoveryAgent(missions).decide(record.id, approve=not deny)
                return {"mission_id": record.id, "decision": "denied" if deny else "approved",
                        "requests": decided}

        data = run(go())
        if opts.json:
            emit_json(data)
            return
        for request in data["requests"]:
            console().print(f"{data['decision']}: {escape(request['description'])}")
        console().print(f"continue with [bold]aios discover --resume {data['mission_id']}[/]")


def _render_list(out: Console, rows: list[dict[str, Any]]) -> None:
    table = Table("id", "status", "steps", "tokens", "$", "mission", "stop reason",
                  title="discovery missions")
    for row in rows:
        table.add_row(row["id"], row["status"], str(row["steps"]), str(row["tokens"]),
                      f"{row['cost_usd']:.4f}", escape(row["question"][:50]),
                      escape(str(row["stop_reason"] or "")))
    out.print(table)


def _render_summary(out: Console, data: dict[str, Any]) -> None:
    out.print(f"[bold]{escape(data['question'])}[/]")
    out.print(f"mission {data['id']} - {data['status']} - {escape(str(data['stop_reason']))}")
    usage = data["usage"]
    out.print(f"{data['steps']} steps, {data['claims']} claims, {data['entities']} entities, "
              f"{data['documents_read']} documents read (at least in part); "
              f"{int(usage.get('tokens', 0))} tokens, ${usage.get('usd', 0.0):.4f}, "
              f"{usage.get('seconds', 0.0):.1f}s; graph {data['graph']}")
    table = Table("entity", "kind", "degree", "PageRank", title="top entities")
    for entity in data["top_pagerank"]:
        table.add_row(escape(entity["name"]), entity["kind"], str(entity["degree"]),
                      f"{entity['pagerank']:.4f}")
    out.print(table)
    if data["conflicts"]:
        out.print("[bold]conflicting claims[/] (kept side by side):")
        for c in data["conflicts"]:
            out.print(f"  {escape(c['subject'])} {c['relation']} {escape(c['object'])} "
                      f"[dim]{escape(', '.join(map(str, c['sources'])))}[/]")
    if data["open_questions"]:
        out.print("[bold]open questions[/] (no evidence found):")
        for q in data["open_questions"]:
            out.print(f"  - {escape(q['question'])} [dim]({escape(q['reason'])})[/]")
    for pending in data["pending"]:
        out.print(f"[yellow]waiting for approval:[/] {escape(pending['description'])}")
    planner = data["planner"]
    out.print(f"planner: model {planner.get('accepted', 0)}/{planner.get('proposed', 0)} "
              f"questions accepted; fallback items {planner.get('fallback_items', 0)}")
    for name, stats in data["extractors"].items():
        out.print(f"extractor {name}: {stats['claims']} claims, {stats['proposed']} proposed, "
                  f"{stats['dropped']} dropped, {stats['calls']} model calls")
