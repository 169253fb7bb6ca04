"""`aios router train|evaluate|show|explain`: the model router (`aios prompt` is cli/prompt.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aios.app import load_manifest
from aios.cli.common import (
    JsonOpt,
    ManifestOpt,
    console,
    emit_json,
    resolve_options,
    run,
)
from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.types import LLMRequest

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


def _prices(pairs: list[str] | None) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for pair in pairs or []:
        model, sep, rates = pair.rpartition("=")
        parts = rates.split(",")
        try:
            values = tuple(float(v) for v in parts)
        except ValueError:
            values = ()
        if not sep or not model or len(values) != 2:
            raise ConfigError(f"--price {pair!r} is not MODEL=INPUT,OUTPUT (USD per million "
                              "tokens); for example --price gpt-4o=2.5,10")
        out[model] = (values[0], values[1])
    return out


def _read(files: list[Path], folders: list[Path] | None, models: str | None,
          strong: str | None, weak: str | None, score_max: float | None,
          prices: list[str] | None) -> Any:
    from aios.routing.outcomes import read_routing_data

    chosen = [m.strip() for m in models.split(",") if m.strip()] if models else None
    if chosen is None and strong and weak:
        chosen = [weak, strong]
    return read_routing_data(files, chosen, folders=folders or (), score_max=score_max,
                             prices=_prices(prices), strong=strong or "strong",
                             weak=weak or "weak")


def _train(files: list[Path], folders: list[Path] | None, tests: list[Path] | None,
           test_folders: list[Path] | None, out: Path | None, strong: str | None,
           weak: str | None, models: str | None, score_max: float | None,
           prices: list[str] | None, tiers: list[str] | None, seed: int,
           holdout: float | None, quality: float, margin_se: float) -> dict[str, Any]:
    from aios.routing.evaluation import evaluate
    from aios.routing.training import train_router

    if (strong is None) != (weak is None):
        raise ConfigError("give both --strong and --weak (a two-model router), or neither "
                          "(every model of the data)")
    data = _read(files, folders, models, strong, weak, score_max, prices)
    separate = bool(tests or test_folders)
    if separate and holdout:
        raise ConfigError("--holdout splits the training files; with --test files the "
                          "router trains on every training row; give one or the other")
    embedder = EmbeddingService.open()
    test_size = 0.0 if separate else (0.3 if holdout is None else holdout)
    classifier, report = train_router(data, embedder, seed=seed, test_size=test_size,
                                      quality=quality, tiers=_tier_overrides(tiers),
                                      strong=strong, margin_se=margin_se)
    result: dict[str, Any] = report.as_dict() if report is not None else {
        "n_train": len(data), "n_test": 0, "dropped_rows": data.dropped}
    if separate:
        test = _read(tests or [], test_folders, ",".join(data.models), strong, weak,
                     score_max, prices)
        result["evaluation"] = evaluate(classifier, embedder, test, strong=strong).as_dict()
    if out is not None:
        result["saved"] = str(classifier.save(out))
    return result


def _percent(value: float | None) -> str:
    return "never" if value is None else f"{100 * value:.0f}%"


def _render_evaluation(ev: dict[str, Any], title: str) -> None:
    out = console()
    strong, weak = ev["strong_point"], ev["weak_point"]
    span = strong["cost"] - weak["cost"]
    gap = strong["accuracy"] - weak["accuracy"]
    table = Table(title=title, title_justify="left")
    for column in ("cost weight", "score", "$/prompt", "% strong cost", "PGR"):
        table.add_column(column, justify="right", no_wrap=True)
    seen: set[tuple[float, float]] = set()
    for p in ev["curve"]:
        key = (round(p["accuracy"], 4), round(p["cost"], 8))
        if key in seen:
            continue
        seen.add(key)
        pgr = (p["accuracy"] - weak["accuracy"]) / gap if gap > 0 else 0.0
        table.add_row(f"{p['weight']:.4g}", f"{p['accuracy']:.4f}", f"{p['cost']:.6f}",
                      f"{100 * p['cost'] / strong['cost']:.1f}%" if strong["cost"] else "-",
                      f"{pgr:.2f}")
    out.print(table)
    op = ev["operating_point"]
    out.print(f"weak {ev['weak']}: {weak['accuracy']:.4f} at ${weak['cost']:.6f}; strong "
              f"{ev['strong']}: {strong['accuracy']:.4f} at ${strong['cost']:.6f} "
              f"({ev['rows']} rows)")
    out.print(f"APGR {ev['apgr']:.3f} (random routing 0.500; the best prompt-blind mix of the "
              f"models {ev['apgr_mix']:.3f}); CPT(50%) {_percent(ev['cpt50'])}, "
              f"CPT(80%) {_percent(ev['cpt80'])} of the strong-weak cost gap (random: 50%, 80%)")
    share = (op["cost"] - weak["cost"]) / span if span > 0 else 0.0
    out.print(f"operating point (cost weight {op['weight']:.4g}): score {op['accuracy']:.4f} "
              f"at ${op['cost']:.6f}/prompt ({100 * share:.0f}% of the cost gap); random "
              f"routing at equal cost: {op['random_accuracy_at_equal_cost']:.4f}")
    shares = ", ".join(f"{m} {100 * s:.1f}%" for m, s in sorted(
        op["choices"].items(), key=lambda kv: -kv[1]))
    out.print(f"choices: {shares}")


def _render_training(result: dict[str, Any]) -> None:
    out = console()
    if "evaluation" in result or "outcomes" not in result:
        out.print(f"trained on {result['n_train']} rows ({result['dropped_rows']} rows "
                  "without outcomes dropped)")
        if "evaluation" in result:
            _render_evaluation(result["evaluation"], "test files: cost-quality curve")
        if "saved" in result:
            out.print(f"classifier saved to {result['saved']}")
        return
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



# Options `router train` and `router evaluate` share.
FolderOpt = Annotated[list[Path] | None, typer.Option(
    "--folder", help="Also every .csv of this folder (repeatable).")]
ModelsOpt = Annotated[str | None, typer.Option(
    "--models", help="Model columns, comma-separated (default: those with cost columns).")]
ScoreMaxOpt = Annotated[float | None, typer.Option(
    "--score-max", help="Top grade of graded scores (e.g. 10); default 0-1.")]
PriceOpt = Annotated[list[str] | None, typer.Option(
    "--price", help="MODEL=IN,OUT USD per million tokens, for files without cost columns.")]


def register(app: typer.Typer) -> None:
    """Add `aios router ...`."""
    router_app = typer.Typer(help="The model router: train and inspect its classifier.",
                             no_args_is_help=True)
    app.add_typer(router_app, name="router")

    @router_app.command("train")
    def train(
        ctx: typer.Context,
        files: list[Path] = typer.Argument(None, help="Training CSV files (outcome tables "
                                           "or pairwise preferences)."),
        folder: FolderOpt = None,
        test: list[Path] | None = typer.Option(None, "--test", help="Test CSV files: train "
                                               "on every training row, score these "
                                               "(repeatable)."),
        test_folder: list[Path] | None = typer.Option(None, "--test-folder",
                                                      help="Every .csv of this folder is "
                                                      "a test file."),
        holdout: float | None = typer.Option(None, "--holdout", help="Without --test: the "
                                             "held-out fraction of the training rows "
                                             "(default 0.3; 0 trains on every row)."),
        out: Path | None = typer.Option(None, "--out", help="Write the classifier (.npz)."),
        strong: str | None = typer.Option(None, "--strong", help="Two-model router: the "
                                          "strong model."),
        weak: str | None = typer.Option(None, "--weak", help="Two-model router: the weak "
                                        "model."),
        models: ModelsOpt = None,
        score_max: ScoreMaxOpt = None,
        price: PriceOpt = None,
        tier: list[str] | None = typer.Option(None, "--tier", help="MODEL=TIER (default: "
                                              "tiers by price)."),
        seed: int = typer.Option(0, "--seed", help="Split and fold seed."),
        quality: float = typer.Option(0.95, "--quality", help="Accuracy target relative to "
                                      "the strongest model."),
        margin_se: float = typer.Option(0.5, "--margin-se", help="Aim the cross-validated "
                                        "accuracy this many standard errors above the "
                                        "target (0: exactly at it)."),
        json_out: JsonOpt = False,
    ) -> None:
        """Train the router classifier on FILES; score it on --test files (curve, APGR,
        CPT), or on a held-out part of FILES against fixed baselines."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> dict[str, Any]:
            return _train(files or [], folder, test, test_folder, out, strong, weak, models,
                          score_max, price, tier, seed, holdout, quality, margin_se)

        result = run(go())
        if opts.json:
            emit_json(result)
        else:
            _render_training(result)

    @router_app.command("evaluate")
    def evaluate_cmd(
        ctx: typer.Context,
        files: list[Path] = typer.Argument(None, help="CSV files to score the router on."),
        folder: FolderOpt = None,
        classifier_file: Path | None = typer.Option(None, "--classifier", help="Classifier "
                                                    ".npz (default: the packaged one)."),
        strong: str | None = typer.Option(None, "--strong", help="The strong model (pairwise "
                                          "files: its name)."),
        weak: str | None = typer.Option(None, "--weak", help="The weak model (pairwise "
                                        "files: its name)."),
        models: ModelsOpt = None,
        score_max: ScoreMaxOpt = None,
        price: PriceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Score a router classifier on FILES it was not trained on: the cost-quality curve,
        APGR and CPT(50%/80%) next to random routing, and its operating point."""
        from aios.routing.classifier import TierClassifier
        from aios.routing.evaluation import evaluate

        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> dict[str, Any]:
            data = _read(files or [], folder, models, strong, weak, score_max, price)
            classifier = TierClassifier.load(classifier_file) if classifier_file \
                else TierClassifier.packaged()
            if classifier is None:
                raise ConfigError("no classifier is packaged; train one with `aios router "
                                  "train FILE... --out FILE`")
            return evaluate(classifier, EmbeddingService.open(), data,
                            strong=strong).as_dict()

        result = run(go())
        if opts.json:
            emit_json(result)
        else:
            _render_evaluation(result, f"cost-quality curve on {result['rows']} rows")

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
                                  "train FILE... --out FILE`")
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
