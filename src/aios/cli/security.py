"""`aios scan` (find PII, secrets and injection in text) and `aios redteam` (attack a target)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from aios.cli.common import (
    ForensicOpt,
    JsonOpt,
    ManifestOpt,
    Options,
    console,
    emit_json,
    resolve_options,
    run,
)
from aios.errors import ConfigError

__all__ = ["register"]

def _scan(ctx: typer.Context, source: str, redact: bool, detectors: list[str] | None,
          json_out: bool, literal: bool = False) -> None:
    from aios.security.detectors import get_detector, scan
    from aios.security.masking import Masker

    opts = resolve_options(ctx, json_out=json_out)
    path = Path(source)
    if literal:
        text = source
    elif not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise ConfigError(f"{source} {what}: give a file to scan, or scan the words "
                          f"themselves with --text (aios scan --text {source!r})")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {source}: {exc}") from exc
    found = scan(text, [get_detector(name) for name in detectors or ["pii", "secrets",
                                                                      "injection"]])
    masked = Masker().mask(text, [f for f in found if f.detector != "injection"])
    if opts.json:
        emit_json({"findings": [f.to_dict() for f in found],
                   **({"redacted": masked} if redact else {})})
        return
    out = console()
    table = Table("start", "end", "detector", "type", "score", "text")
    for f in found:
        table.add_row(str(f.start), str(f.end), f.detector, f.type, f"{f.score:.2f}",
                      escape(f.text if len(f.text) < 60 else f.text[:57] + "..."))
    out.print(table if found else "[green]nothing found[/]")
    if redact:
        out.print(escape(masked), soft_wrap=True)

async def _redteam(target_spec: str, guardrails_mode: str, catalog: list[Path] | None,
                   families: list[str] | None, ids: list[str] | None, opts: Options,
                   judge_model: str | None, progress: Progress | None,
                   concurrency: int = 4, max_tokens: int = 64
                   ) -> tuple[dict[str, Any], str]:
    from aios.app import load_manifest, open_gateway, open_store
    from aios.security.guardrails import Guardrails
    from aios.security.redteam import (
        LLMJudge,
        SharedAnswers,
        load_catalog,
        resolve_target,
        run_suite,
        target_needs,
    )
    from aios.store.runs import RunStore

    modes = {"off": ["off"], "on": ["on"], "both": ["off", "on"]}.get(guardrails_mode)
    if modes is None:
        raise ConfigError(f"--guardrails {guardrails_mode!r}: use on, off or both")
    needs = target_needs(target_spec)
    attacks = load_catalog(catalog, families=families, ids=ids)
    manifest = load_manifest(opts.manifest)
    settings = opts.settings()
    async with contextlib.AsyncExitStack() as stack:
        services: dict[str, Any] = {"manifest": manifest, "forensic": settings.forensic,
                                    "assume_yes": False, "max_tokens": max_tokens}
        if "runs" in needs:  # agent targets record every action they run, as real runs
            store = await stack.enter_async_context(open_store(settings))
            runs = RunStore(store)
            stack.push_async_callback(runs.writer.close)
            services["runs"] = runs
        gateway = await stack.enter_async_context(open_gateway(manifest))
        services["gateway"] = gateway
        # The columns ask the same greedy questions unless a guardrail changed one: each
        # distinct question goes to the model once (half the model time of `both`).
        services["answers"] = SharedAnswers()
        judge = LLMJudge(gateway, judge_model) if judge_model is not None else None
        guards = Guardrails(policy=manifest.guardrails)
        out: dict[str, Any] = {}
        name = target_spec

        async def one_mode(mode: str) -> None:
            nonlocal name
            # A fresh target per mode: an agent target's runtime has the guardrail layer on.
            target = resolve_target(target_spec, **services,
                                    guardrails=guards if mode == "on" else None)
            name = target.name
            task = progress.add_task(f"guardrails {mode}", total=len(attacks)) if progress else None

            def tick(_: Any, task: Any = task) -> None:
                if progress is not None and task is not None:
                    progress.advance(task)

            out[f"guardrails_{mode}"] = await run_suite(
                attacks, target, guards if mode == "on" else None, judge=judge, progress=tick,
                concurrency=concurrency)

        # Both modes at once, each `concurrency` attacks at a time: the model is the
        # bottleneck, and every attack's guardrail and check work overlaps its calls.
        await asyncio.gather(*(one_mode(mode) for mode in modes))
        out = {f"guardrails_{mode}": out[f"guardrails_{mode}"] for mode in modes}
    return out, name


def register(app: typer.Typer) -> None:
    """Add `scan` and `redteam`."""

    @app.command("scan")
    def scan_cmd(ctx: typer.Context,
                 source: Annotated[str, typer.Argument(help="A file to scan (or, with --text, "
                                                       "the text itself).")],
                 literal: Annotated[bool, typer.Option("--text", "-t", help="Scan SOURCE "
                                                       "as text, not as a file path.")] = False,
                 redact: Annotated[bool, typer.Option("--redact", help="Print the text with "
                                                      "PII and secrets masked.")] = False,
                 detector: Annotated[list[str] | None, typer.Option(
                     "--detector", "-d", help="Detector to run (repeatable): pii, secrets, "
                     "injection; default all.")] = None,
                 json_out: JsonOpt = False) -> None:
        """Find PII, secrets and prompt injection in a file (or a text, with --text)."""
        async def go() -> None:
            _scan(ctx, source, redact, detector, json_out, literal)

        run(go())

    @app.command("redteam")
    def redteam_cmd(ctx: typer.Context,
                    target: Annotated[str, typer.Option(
                        "--target", "-t", help="model:[NAME] | callable:mod:fn | "
                        "http:URL[#model] | agent:[MANIFEST][#AGENT][@MODEL]")] = "model:",
                    guardrails: Annotated[str, typer.Option(
                        "--guardrails", help="on | off | both")] = "both",
                    catalog: Annotated[list[Path] | None, typer.Option(
                        "--catalog", help="Attack YAML file or directory (repeatable); "
                        "default: the built-in catalogue.")] = None,
                    family: Annotated[list[str] | None, typer.Option(
                        "--family", help="Only this family (repeatable).")] = None,
                    attack: Annotated[list[str] | None, typer.Option(
                        "--attack", help="Only this attack id (repeatable).")] = None,
                    html_out: Annotated[Path | None, typer.Option(
                        "--html", help="Write an HTML report with transcripts.")] = None,
                    fail_on: Annotated[str | None, typer.Option(
                        "--fail-on", help="Exit 1 if an attack of this severity or worse "
                        "succeeds (low | medium | high | critical).")] = None,
                    judge: Annotated[str | None, typer.Option(
                        "--judge", help="Also ask this model (a name under the manifest's "
                        "`models:`) whether attacks the checks call failed did succeed.")
                    ] = None,
                    concurrency: Annotated[int, typer.Option(
                        "--concurrency", min=1, help="Attacks in flight at once, per "
                        "guardrails mode (an agent target runs one at a time).")] = 4,
                    max_tokens: Annotated[int, typer.Option(
                        "--max-tokens", min=8, help="Cap on the model's reply to each "
                        "attack turn (model targets).")] = 64,
                    manifest: ManifestOpt = None, forensic: ForensicOpt = False,
                    json_out: JsonOpt = False) -> None:
        """Run the attack catalogue against a target, with guardrails off and/or on.

        The manifest gives the gateway's models, the guardrail policy, and the agent for
        `agent:` targets, whose actions really run through the runtime's gates (confirmation
        is never assumed; --forensic skips every mutating action).
        """
        from aios.security.redteam import Severity, exit_code, render_html, summarize, to_json

        opts = resolve_options(ctx, manifest=manifest, forensic=forensic, json_out=json_out)
        threshold = None
        if fail_on is not None:
            try:
                threshold = Severity(fail_on)
            except ValueError:
                run(_raise(ConfigError(f"--fail-on {fail_on!r}: use low, medium, high or "
                                       "critical")))
        out = console(opts.json)
        # A progress bar on a terminal only; piped, the report alone is printed.
        with Progress(console=out, transient=True, disable=not out.is_terminal) as progress:
            runs, name = run(_redteam(target, guardrails, catalog, family, attack, opts,
                                      judge, progress, concurrency, max_tokens))
        if html_out is not None:
            html_out.write_text(render_html(runs, name), encoding="utf-8")
        if opts.json:
            emit_json(to_json(runs, name))
        else:
            # Two-line headers say which guardrails mode each column is (fits 80 columns);
            # a "blocked" column only where something was blocked or guardrails were on.
            summaries = {m.removeprefix("guardrails_"): summarize(r) for m, r in runs.items()}
            blocked = [m for m, s in summaries.items() if m == "on" or s["blocked"]]
            table = Table(title=f"red team: {name}", title_justify="left")
            table.add_column("family", no_wrap=True)
            for m in summaries:
                table.add_column(f"guardrails {m}\nsucceeded", justify="right")
            for m in blocked:
                table.add_column(f"guardrails {m}\nblocked", justify="right")
            fams = sorted({f for s in summaries.values() for f in s["by_family"]})
            for fam in fams:
                table.add_row(fam, *[f"{s['by_family'][fam]['succeeded']}/"
                                     f"{s['by_family'][fam]['attacks']}"
                                     for s in summaries.values()],
                              *[str(summaries[m]["by_family"][fam]["blocked"])
                                for m in blocked])
            out.print(table)
            for mode, s in summaries.items():
                sev = ", ".join(f"{k} {v['succeeded']}/{v['attacks']}"
                                for k, v in s["by_severity"].items())
                judged = (f", {s['judged']} by the judge only, {s['judge_errors']} judge errors"
                          if judge else "")
                out.print(f"guardrails {mode}: {s['succeeded']}/{s['attacks']} "
                          f"succeeded, {s['blocked']} blocked ({sev}){judged}")
        raise typer.Exit(exit_code(runs, threshold))

async def _raise(exc: Exception) -> None:
    raise exc

