"""`aios router train|show|explain` and `aios prompt`: the router and natural-language requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from aios.app import load_manifest, open_runtime
from aios.cli.common import (
    EnvOpt,
    ForensicOpt,
    JsonOpt,
    ManifestOpt,
    Options,
    console,
    emit_json,
    resolve_options,
    run,
)
from aios.cli.exitcodes import FAILED, for_run
from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.types import LLMRequest
from aios.runtime.engine import RunResult

__all__ = ["register"]

def _tier_overrides(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        model, sep, tier = pair.rpartition("=")
        if not sep or not model or not tier:
            raise ConfigError(f"--tier {pair!r} is not MODEL=TIER; for example "
                              "--tier gpt-4-1106-preview=complex")
        out[model] = tier
    return out


def _train(paths: list[Path], out: Path | None, strong: str | None, weak: str | None,
           tiers: list[str] | None, seed: int, test_size: float, quality: float,
           margin_se: float) -> dict[str, Any]:
    from aios.routing.training import read_routing_data, train_router

    if (strong is None) != (weak is None):
        raise ConfigError("give both --strong and --weak (a two-model router), or neither "
                          "(every model of the data)")
    models = [weak, strong] if strong and weak else None
    data = read_routing_data(paths, models)  # type: ignore[arg-type]
    classifier, report = train_router(data, EmbeddingService.open(), seed=seed,
                                      test_size=test_size, quality=quality,
                                      tiers=_tier_overrides(tiers), strong=strong,
                                      margin_se=margin_se)
    result = report.as_dict()
    if out is not None:
        result["saved"] = str(classifier.save(out))
    return result


def _render_training(result: dict[str, Any]) -> None:
    out = console()
    strong = next(o for o in result["outcomes"] if o["name"] == "always-strongest")
    table = Table(title=f"held-out rows: {result['n_test']} (trained on {result['n_train']}, "
                        f"{result['dropped_rows']} rows without outcomes dropped)",
                  title_justify="left")
    for column in ("routing", "accuracy", "$/prompt", "% strong acc", "% strong cost"):
        table.add_column(column, justify="left" if column == "routing" else "right",
                         no_wrap=True)
    for o in result["outcomes"]:
        table.add_row(o["name"], f"{o['accuracy']:.4f}", f"{o['cost']:.6f}",
                      f"{100 * o['accuracy'] / strong['accuracy']:.1f}%",
                      f"{100 * o['cost'] / strong['cost']:.1f}%")
    out.print(table)
    verdict = "met" if result["target_met"] else "NOT met"
    out.print(f"strongest: {result['strongest']}; cheapest: {result['cheapest']}; "
              f"L2 {result['l2']}, budget ${result['budget_usd']:.6f}/prompt "
              f"(target + {result['margin_se']:g} SE), cost weight {result['cost_weight']:.4f} "
              "(all chosen by cross-validation on the training rows)")
    out.print(f"target (>= {100 * result['quality']:.0f}% of the strongest accuracy at <= 30% "
              f"of its cost): {verdict} — {100 * result['accuracy_ratio']:.1f}% accuracy at "
              f"{100 * result['cost_ratio']:.1f}% cost")
    shares = ", ".join(f"{m} {100 * s:.1f}%" for m, s in sorted(
        result["router_choices"].items(), key=lambda kv: -kv[1]))
    out.print(f"router choices: {shares}")
    if "saved" in result:
        out.print(f"classifier saved to {result['saved']}")


def _render_plan(plan: dict[str, Any], title: str) -> None:
    out = console()
    table = Table(title=title, title_justify="left")
    for column in ("clause", "action", "score", "criticality", "mutates"):
        table.add_column(column, no_wrap=column == "action")
    for clause in plan["clauses"]:
        if clause["action"]:
            table.add_row(clause["clause"], clause["action"], f"{clause['score']:.2f}",
                          clause["criticality"], "yes" if clause["mutates"] else "no")
        else:
            closest = ", ".join(f"{a['action']} ({a['score']:.2f})"
                                for a in clause["alternatives"])
            table.add_row(clause["clause"], "[yellow]no action found[/]",
                          f"{clause['score']:.2f}", "", f"closest: {closest}")
    out.print(table)


async def _prompt(opts: Options, text: str, dry_run: bool, min_score: float
                  ) -> tuple[dict[str, Any], list[RunResult]]:
    from aios.routing.intent import IntentMatcher

    manifest = load_manifest(opts.manifest, env=opts.env)
    matcher = IntentMatcher(manifest, EmbeddingService.open(), min_score=min_score)
    plan = matcher.match(text)
    results: list[RunResult] = []
    if dry_run or not plan.actions:
        return plan.as_dict(), results
    # Each action runs as a run of its own through the full pipeline: forensic mode, the
    # approval gate (a run may wait for a decision) and guardrails apply as for `aios exec`.
    async with open_runtime(manifest, settings=opts.settings(), env=opts.env,
                            manifest_path=str(opts.manifest) if opts.manifest else None
                            ) as runtime:
        for action in plan.actions:
            results.append(await runtime.execute(action))
    return plan.as_dict(), results


def register(app: typer.Typer) -> None:
    """Add `aios router ...` and `aios prompt`."""
    router_app = typer.Typer(help="The model router: train and inspect its classifier.",
                             no_args_is_help=True)
    app.add_typer(router_app, name="router")

    @router_app.command("train")
    def train(
        ctx: typer.Context,
        data: list[Path] = typer.Option(..., "--data", help="RouterBench-style CSV files or "
                                        "directories of them (repeatable)."),
        out: Path | None = typer.Option(None, "--out", help="Write the classifier (.npz)."),
        strong: str | None = typer.Option(None, "--strong", help="Two-model router: the "
                                          "strong model's column."),
        weak: str | None = typer.Option(None, "--weak", help="Two-model router: the weak "
                                        "model's column."),
        tier: list[str] | None = typer.Option(None, "--tier", help="MODEL=TIER (default: "
                                              "tiers by price)."),
        seed: int = typer.Option(0, "--seed", help="Split and fold seed."),
        test_size: float = typer.Option(0.3, "--test-size", help="Held-out fraction."),
        quality: float = typer.Option(0.95, "--quality", help="Accuracy target relative to "
                                      "the strongest model."),
        margin_se: float = typer.Option(0.5, "--margin-se", help="Aim the cross-validated "
                                        "accuracy this many standard errors above the "
                                        "target (0: exactly at it)."),
        json_out: JsonOpt = False,
    ) -> None:
        """Train the complexity classifier on a split; report the held-out split against
        always-strongest, always-cheapest, random and oracle routing."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> dict[str, Any]:
            return _train(data, out, strong, weak, tier, seed, test_size, quality, margin_se)

        result = run(go())
        if opts.json:
            emit_json(result)
        else:
            _render_training(result)

    @router_app.command("show")
    def show(ctx: typer.Context,
             file: Path | None = typer.Argument(None, help="A classifier .npz (default: the "
                                                "packaged one)."),
             json_out: JsonOpt = False) -> None:
        """Show a router classifier: embedding model, reference models, tiers, training."""
        from aios.routing.classifier import TierClassifier

        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> dict[str, Any]:
            classifier = TierClassifier.load(file) if file else TierClassifier.packaged()
            if classifier is None:
                raise ConfigError("no classifier is packaged; train one with `aios router "
                                  "train --data DIR --out FILE`")
            return {"embedder": classifier.embedder, "cost_weight": classifier.cost_weight,
                    "references": [r.__dict__ for r in classifier.references],
                    "tiers": classifier.tiers, "info": classifier.info}

        info = run(go())
        if opts.json:
            emit_json(info)
            return
        table = Table(title=f"router classifier ({info['embedder']}, cost weight "
                            f"{info['cost_weight']:.4f})", title_justify="left")
        for column in ("reference model", "tier", "mean cost $"):
            table.add_column(column)
        for ref in info["references"]:
            table.add_row(ref["name"], ref["tier"], f"{ref['cost']:.6f}")
        console().print(table)

    @router_app.command("explain")
    def explain(ctx: typer.Context, prompt: str = typer.Argument(..., help="The prompt."),
                policy: str = typer.Option("cheapest-adequate", "--policy",
                                           help="Routing policy."),
                classifier_file: Path | None = typer.Option(
                    None, "--classifier", help="Classifier .npz (default: the packaged one)."),
                manifest: ManifestOpt = None, json_out: JsonOpt = False) -> None:
        """Route PROMPT over the manifest's models and say why (nothing is sent)."""
        from aios.llm.config import model_infos
        from aios.routing.classifier import TierClassifier
        from aios.routing.router import Router

        opts = resolve_options(ctx, manifest, json_out=json_out)

        async def go() -> dict[str, Any]:
            loaded = load_manifest(opts.manifest, env=opts.env)
            classifier = TierClassifier.load(classifier_file) if classifier_file \
                else TierClassifier.packaged()
            router = Router(policy, classifier=classifier,
                            embedder=EmbeddingService.open() if classifier else None)
            models = list(model_infos(loaded.models).values())
            return router.route(LLMRequest.of(prompt), models).record()

        decision = run(go())
        if opts.json:
            emit_json(decision)
        else:
            console().print(f"[bold]{decision['model']}[/] (tier {decision['tier']}): "
                            f"{decision['reason']}")

    @app.command("prompt")
    def prompt(
        ctx: typer.Context,
        text: str = typer.Argument(..., help='What to do, e.g. "check disks and containers".'),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan, run nothing."),
        min_score: float = typer.Option(0.35, "--min-score",
                                        help="Lowest score that counts as a match."),
        manifest: ManifestOpt = None, env: EnvOpt = None, forensic: ForensicOpt = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Run a natural-language request: clauses → manifest actions → the runtime."""
        opts = resolve_options(ctx, manifest, env, forensic, json_out)
        plan, results = run(_prompt(opts, text, dry_run, min_score))
        failed = [r for r in results if for_run(r.status)]
        if opts.json:
            emit_json({**plan, "dry_run": dry_run, "runs": [
                {"run_id": r.run_id, "action": r.target, "status": r.status,
                 "error": r.error,
                 "steps": {k: {"status": s.status, "result": s.result, "error": s.error}
                           for k, s in r.steps.items()}} for r in results]})
        else:
            _render_plan(plan, f"plan for: {text}" + (" (dry run)" if dry_run else ""))
            out = console()
            for r in results:
                style = "green" if r.ok else "red"
                step = next(iter(r.steps.values()), None)
                note = f" ({step.status})" if step and step.status != r.status else ""
                out.print(f"{r.target}: run {r.run_id[:12]} [{style}]{r.status}[/]{note}"
                          + (f": {r.error}" if r.error else ""))
        if not plan["actions"]:
            console(opts.json).print("no clause matched a manifest action (closest ones are "
                                     "listed); rephrase, or lower --min-score")
            raise typer.Exit(1)
        if failed:
            raise typer.Exit(FAILED)
