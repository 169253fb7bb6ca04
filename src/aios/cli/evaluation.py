"""`aios eval`: run suites, compare runs, annotate results, build datasets from traces."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table

from aios.app import load_manifest, open_store
from aios.cli.common import (
    JsonOpt,
    ManifestOpt,
    Options,
    console,
    emit_json,
    resolve_options,
    run,
)
from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.evaluation import (
    AnnotationQueue,
    EvalReport,
    EvalStore,
    Harness,
    ResultRecord,
    Suite,
    compare_results,
    load_report,
    load_suite,
    samples_from_store,
    write_jsonl,
)
from aios.evaluation.annotations import Agreement
from aios.evaluation.evaluators import output_text
from aios.evaluation.reports import (
    RichProgress,
    comparison_json,
    exit_code,
    render_comparison,
    render_report,
    report_json,
    write_comparison,
    write_report,
)
from aios.evaluation.traces import Source
from aios.llm.factory import build_gateway
from aios.observability.window import parse_since
from aios.store.engine import Store

__all__ = ["register"]


@asynccontextmanager
async def _gateway(opts: Options, store: Store) -> AsyncIterator[Any]:
    """The model gateway for `model` targets and judges, from the manifest's `models:`."""
    manifest = load_manifest(opts.manifest, env=opts.env)
    gateway = build_gateway(manifest.models, manifest.budgets, store=store, env=os.environ)
    try:
        yield gateway
    finally:
        await gateway.aclose()
        if gateway.ledger is not None:
            await gateway.ledger.close()


def _embedder(suite: Suite, out: Console) -> Any:
    """The embedding service, opened only when the suite has a similarity evaluator."""
    if not any(e.name == "embedding_similarity" for e in suite.evaluators):
        return None
    try:
        return EmbeddingService.open()
    except ConfigError as exc:  # the evaluator is skipped, and says so in the report
        out.print(f"[yellow]warning:[/] embedding_similarity will be skipped: {escape(str(exc))}")
        return None


def _outputs(report: Any, html: Path | None, out: Path | None, writer: Any,
             out_console: Console) -> None:
    for path in (html, out):
        if path is not None:
            written = writer(report, path)
            out_console.print(f"report written to {written}")


def _parse_labels(pairs: list[str]) -> list[tuple[str, int, str]]:
    out = []
    for pair in pairs:
        item, sep, label = pair.rpartition("=")
        if not sep or not item or not label:
            raise ConfigError(f"--label {pair!r} is not SAMPLE_ID=LABEL (SAMPLE_ID@REPEAT=LABEL "
                              "for a repeat); for example --label q1=pass")
        sample_id, at, repeat = item.rpartition("@")
        if at and repeat.isdigit():
            out.append((sample_id, int(repeat), label))
        else:
            out.append((item, 0, label))
    return out


def _render_agreement(out: Console, agreements: list[Agreement]) -> None:
    table = Table(title="agreement (Cohen's kappa)", title_justify="left")
    for col in ("rater", "rater", "items", "agreement", "kappa"):
        table.add_column(col, justify="right" if col in ("items", "agreement", "kappa")
                         else "left")
    for a in agreements:
        table.add_row(escape(a.rater_a), escape(a.rater_b), str(a.items),
                      "-" if a.observed is None else f"{a.observed:.1%}",
                      "-" if a.kappa is None else f"{a.kappa:.3f}")
    out.print(table)


def _show_item(out: Console, r: ResultRecord, index: int, total: int) -> None:
    out.rule(f"[bold]{escape(r.sample_id)}[/] (repeat {r.repeat}) · {index}/{total} · "
             f"automatic verdict: {r.status}")
    out.print(f"[dim]input:[/] {escape(output_text(r.input))}")
    if r.expected is not None:
        out.print(f"[dim]expected:[/] {escape(output_text(r.expected))}")
    out.print(f"[dim]output:[/] {escape(output_text(r.output))}")
    if r.error:
        out.print(f"[yellow]error:[/] {escape(r.error)}")
    for label, score in r.scores.items():
        out.print(f"[dim]{escape(label)}:[/] {score.status} "
                  f"{escape(score.error or score.reason)}")


def register(app: typer.Typer) -> None:
    """Add the `eval` command group to `app`."""
    eval_app = typer.Typer(help="Evaluate agents and models: suites, A/B comparisons, human "
                                "labels, datasets from traces.", no_args_is_help=True)
    app.add_typer(eval_app, name="eval")

    @eval_app.command("run")
    def run_suite(ctx: typer.Context,
                  suite_path: Path | None = typer.Argument(
                      None, help="The suite file (YAML); optional with --resume."),
                  resume: str | None = typer.Option(
                      None, "--resume", help="Continue this run; finished samples are kept."),
                  fail_under: float | None = typer.Option(
                      None, "--fail-under", min=0, max=1,
                      help="Exit 1 when accuracy is below this (overrides the suite)."),
                  concurrency: int | None = typer.Option(None, "--concurrency", "-c", min=1),
                  repeats: int | None = typer.Option(None, "--repeats", min=1),
                  limit: int | None = typer.Option(None, "--limit", min=1,
                                                   help="Only the first N samples."),
                  html: Path | None = typer.Option(None, "--html", help="Write an HTML report."),
                  out: Path | None = typer.Option(None, "--out", help="Write a JSON report."),
                  manifest: ManifestOpt = None, json_out: JsonOpt = False) -> None:
        """Run an evaluation suite and report; the exit code gates CI (--fail-under)."""
        opts = resolve_options(ctx, manifest, json_out=json_out)
        if suite_path is None and resume is None:
            raise typer.BadParameter("give a suite file, or --resume RUN_ID")
        shown = console(opts.json)

        async def go() -> EvalReport:
            suite: Suite | None = None
            if suite_path is not None:
                suite = load_suite(suite_path)
                changes = {k: v for k, v in (("concurrency", concurrency), ("repeats", repeats),
                                             ("limit", limit)) if v is not None}
                suite = suite.model_copy(update=changes) if changes else suite
            settings = opts.settings()
            async with open_store(settings) as store, _gateway(opts, store) as gateway:
                planned = suite or Suite.model_validate(
                    (await EvalStore(store).get_run(str(resume))).spec)
                progress = None if opts.json else RichProgress(shown)
                harness = Harness(store, gateway=gateway, settings=settings, progress=progress,
                                  embedder=_embedder(planned, shown))
                with progress if progress is not None else nullcontext():
                    return await harness.run(suite, resume=resume)

        report = run(go())
        if opts.json:
            emit_json(report_json(report))
        else:
            render_report(shown, report)
            shown.print(f"details: aios eval show {report.run.id[:12]}")
        _outputs(report, html, out, write_report, shown)
        code = exit_code(report, fail_under)
        if code:
            raise typer.Exit(code)

    @eval_app.command("show")
    def show(ctx: typer.Context, run_id: str = typer.Argument(..., help="Run id or prefix."),
             html: Path | None = typer.Option(None, "--html", help="Write an HTML report."),
             out: Path | None = typer.Option(None, "--out", help="Write a JSON report."),
             json_out: JsonOpt = False) -> None:
        """Show a stored run's report (terminal, JSON, HTML)."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> EvalReport:
            async with open_store(opts.settings()) as store:
                return await load_report(store, run_id)

        report = run(go())
        shown = console(opts.json)
        if opts.json:
            emit_json(report_json(report))
        else:
            render_report(shown, report)
        _outputs(report, html, out, write_report, shown)

    @eval_app.command("runs")
    def list_runs(ctx: typer.Context, limit: int = typer.Option(20, "--limit", "-n", min=1),
                  suite: str | None = typer.Option(None, help="Only runs of this suite."),
                  json_out: JsonOpt = False) -> None:
        """List recent evaluation runs (newest first)."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> list[Any]:
            async with open_store(opts.settings()) as store:
                return await EvalStore(store).list_runs(limit, suite)

        records = run(go())
        if opts.json:
            emit_json([{**r.to_json(), "accuracy": (r.summary or {}).get("accuracy")}
                       for r in records])
            return
        table = Table()
        for col in ("id", "suite", "target", "status", "samples", "accuracy", "created"):
            table.add_column(col)
        for r in records:
            accuracy = (r.summary or {}).get("accuracy")
            table.add_row(r.id[:12], escape(r.suite), escape(r.target), r.status,
                          f"{r.samples}x{r.repeats}",
                          "-" if accuracy is None else f"{accuracy:.1%}",
                          r.created_at.isoformat(timespec="seconds"))
        console().print(table)

    @eval_app.command("compare")
    def compare(ctx: typer.Context, run_a: str = typer.Argument(..., help="Baseline run."),
                run_b: str = typer.Argument(..., help="Candidate run."),
                evaluator: str | None = typer.Option(
                    None, "--evaluator", help="Compare on one evaluator (default: overall)."),
                alpha: float = typer.Option(0.05, "--alpha", min=0.0001, max=0.5),
                confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999),
                fail_on_regression: bool = typer.Option(
                    False, "--fail-on-regression",
                    help="Exit 1 when the candidate is significantly worse."),
                html: Path | None = typer.Option(None, "--html", help="Write an HTML report."),
                out: Path | None = typer.Option(None, "--out", help="Write a JSON report."),
                json_out: JsonOpt = False) -> None:
        """A/B test two runs on their shared samples: McNemar, bootstrap CI, power."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> Any:
            async with open_store(opts.settings()) as store:
                a, b = await load_report(store, run_a), await load_report(store, run_b)
            return compare_results(a.results, b.results, label_a=a.run.id[:12],
                                   label_b=b.run.id[:12], evaluator=evaluator, alpha=alpha,
                                   confidence=confidence)

        result = run(go())
        shown = console(opts.json)
        if opts.json:
            emit_json(comparison_json(result))
        else:
            render_comparison(shown, result)
        _outputs(result, html, out, write_comparison, shown)
        if fail_on_regression and result.better == result.label_a:
            raise typer.Exit(1)

    @eval_app.command("annotate")
    def annotate(ctx: typer.Context, run_id: str = typer.Argument(..., help="Run id or prefix."),
                 annotator: str = typer.Option(
                     os.environ.get("USER", "annotator"), "--annotator",
                     help="Who is labelling (default: $USER)."),
                 label: list[str] | None = typer.Option(
                     None, "--label", help="Label without prompting: SAMPLE_ID[@REPEAT]=LABEL "
                                           "(repeatable)."),
                 json_out: JsonOpt = False) -> None:
        """Label a run's results (pass/fail), then show agreement as Cohen's kappa."""
        opts = resolve_options(ctx, json_out=json_out)
        out = console(opts.json)

        async def go() -> list[Agreement]:
            async with open_store(opts.settings()) as store:
                queue = AnnotationQueue(store)
                if label:
                    for sample_id, repeat, value in _parse_labels(label):
                        await queue.label(run_id, sample_id, value, annotator=annotator,
                                          repeat=repeat)
                else:
                    await _interactive(queue, run_id, annotator, out)
                report = await load_report(store, run_id)
                evaluators = list(report.summary.per_evaluator)
                return await queue.agreement(run_id, evaluators=evaluators)

        agreements = run(go())
        if opts.json:
            emit_json([a.to_json() for a in agreements])
        else:
            _render_agreement(out, agreements)

    @eval_app.command("from-traces")
    def from_traces(ctx: typer.Context,
                    agent: str = typer.Option(..., "--agent", help="The agent to export."),
                    since: str = typer.Option("7d", "--since", help="7d, 12h, or a date."),
                    out_path: Path = typer.Option(..., "--out", help="The JSONL file to write."),
                    source: str = typer.Option("all", "--source",
                                               help="all, llm (LLM calls) or actions (runs)."),
                    limit: int = typer.Option(1000, "--limit", min=1),
                    json_out: JsonOpt = False) -> None:
        """Turn stored LLM calls and action runs of an agent into a regression dataset."""
        opts = resolve_options(ctx, json_out=json_out)
        if source not in ("all", "llm", "actions"):
            raise typer.BadParameter("--source must be all, llm or actions")

        async def go() -> Any:
            async with open_store(opts.settings()) as store:
                return await samples_from_store(store, agent=agent, since=parse_since(since),
                                                source=cast(Source, source), limit=limit)

        export = run(go())
        written = write_jsonl(export.samples, out_path)
        if opts.json:
            emit_json({"written": written, "path": str(out_path), "sources": export.sources,
                       "without_prompt": export.without_prompt, "notes": export.notes})
            return
        shown = console()
        shown.print(f"wrote {written} sample(s) to {out_path} (from "
                    f"{', '.join(export.sources) or 'nothing'})")
        for note in export.notes:
            shown.print(f"[yellow]note:[/] {escape(note)}")


async def _interactive(queue: AnnotationQueue, run_id: str, annotator: str,
                       out: Console) -> None:
    pending = await queue.pending(run_id, annotator)
    if not pending:
        out.print(f"nothing left for {escape(annotator)} to label in run {escape(run_id)}")
        return
    for index, result in enumerate(pending, start=1):
        _show_item(out, result, index, len(pending))
        choice = Prompt.ask("label", choices=["pass", "fail", "skip", "quit"], default="skip",
                            console=out)
        if choice == "quit":
            break
        if choice == "skip":
            continue
        note = Prompt.ask("note (optional)", default="", console=out) or None
        await queue.label(run_id, result.sample_id, choice, annotator=annotator,
                          repeat=result.repeat, note=note)
